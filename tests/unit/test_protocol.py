"""Which agents a server works with, and which it shows as outdated (fleetdeck.protocol)."""

from __future__ import annotations

import pytest

from fleetdeck.protocol import (
    OLDEST_AGENT_PROTOCOL,
    PROTOCOL_VERSION,
    agent_protocol,
    is_compatible,
    is_outdated,
    version_key,
)


def test_an_agent_that_reports_no_protocol_speaks_protocol_1() -> None:
    assert agent_protocol(None) == 1
    assert agent_protocol(PROTOCOL_VERSION) == PROTOCOL_VERSION


def test_the_server_works_with_its_protocol_and_the_one_before_and_refuses_older() -> None:
    assert OLDEST_AGENT_PROTOCOL == PROTOCOL_VERSION - 1
    assert is_compatible(PROTOCOL_VERSION) and is_compatible(PROTOCOL_VERSION - 1)
    assert is_compatible(PROTOCOL_VERSION + 1)  # an agent upgraded before its server
    assert not is_compatible(PROTOCOL_VERSION - 2)


@pytest.mark.parametrize(
    "ordered",
    [
        ["0.1.0", "0.2.0.dev0", "0.2.0a1", "0.2.0rc1", "0.2.0", "0.2.0.post1", "0.10.0", "1.0"],
        ["0.9", "0.9.1.dev3", "0.9.1"],
    ],
)
def test_versions_sort_as_pep_440_orders_them(ordered: list[str]) -> None:
    keys = [version_key(v) for v in ordered]
    assert all(k is not None for k in keys)
    assert keys == sorted(keys)  # type: ignore[type-var]
    assert len(set(keys)) == len(keys)
    assert version_key("0.2") == version_key("0.2.0") == version_key("v0.2.0")


def test_an_agent_older_than_the_server_is_outdated() -> None:
    assert is_outdated("0.1.0", "0.2.0.dev0") is True
    assert is_outdated("0.2.0.dev0", "0.2.0.dev0") is False
    assert is_outdated("0.3.0", "0.2.0") is False
    assert is_outdated(None, "0.2.0") is True  # predates version reporting
    assert is_outdated("a-fork", "0.2.0") is None  # unreadable: unknown, not a guess
