"""The one ``audited``: every outcome of an audited change is recorded, never an unsafe text."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.errors import ConflictError
from fleetdeck.server.audit import INTERNAL, audited, audited_call, failure_text
from fleetdeck.server.fleet.common import ndjson_response

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import Request

SECRET = "postgresql://admin:hunter2@db/fleet"  # noqa: S105 - a text that must not leak


class FakeAudit:
    """Keeps what :meth:`AuditLog.record` would write."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str, str, dict[str, Any] | None]] = []

    async def record(
        self, actor: str, action: str, target: str, result: str, detail: dict[str, Any] | None
    ) -> None:
        """Keep one entry."""
        self.entries.append((actor, action, target, result, detail))


def request_with(audit: FakeAudit) -> Request:
    """A request whose app's server context holds ``audit`` (and nothing else)."""
    from fastapi import Request

    context = SimpleNamespace(audit=audit)
    return Request({"type": "http", "app": SimpleNamespace(state=SimpleNamespace(context=context))})


async def test_an_unknown_exception_is_recorded_as_failed_without_its_text() -> None:
    audit = FakeAudit()
    with pytest.raises(RuntimeError, match="hunter2"):
        async with audited(request_with(audit), "alice", "rule.create", "cpu") as detail:
            detail["kind"] = "metric"
            raise RuntimeError(f"cannot connect to {SECRET}")
    assert audit.entries == [("alice", "rule.create", "cpu", INTERNAL, {"kind": "metric"})]
    assert "hunter2" not in json.dumps(audit.entries)


async def test_a_fleetdeck_error_is_recorded_with_its_message_not_its_hint() -> None:
    audit = FakeAudit()
    with pytest.raises(ConflictError):
        async with audited(request_with(audit), "alice", "rule.create", "cpu"):
            raise ConflictError("rule 'cpu' exists already", hint="pick another name")
    assert audit.entries == [
        ("alice", "rule.create", "cpu", "error: rule 'cpu' exists already", None)
    ]


async def test_success_is_ok_and_the_block_may_name_the_target_once_it_knows_it() -> None:
    audit = FakeAudit()
    async with audited(request_with(audit), "agent@h1", "agent.enrol", "https://h1:9001") as entry:
        entry.target = "prod/h1"
    assert audit.entries == [("agent@h1", "agent.enrol", "prod/h1", "ok", None)]


async def test_audited_call_records_an_unknown_failure_of_its_work_safely() -> None:
    audit = FakeAudit()

    async def work() -> int:
        raise KeyError(SECRET)

    with pytest.raises(KeyError):
        await audited_call(request_with(audit), "bob", "container.stop", "env/n1:web", work())
    assert audit.entries == [("bob", "container.stop", "env/n1:web", INTERNAL, None)]
    assert failure_text(KeyError(SECRET)) == INTERNAL


async def test_a_stream_records_its_own_outcome_once() -> None:
    audit = FakeAudit()

    async def lines() -> AsyncIterator[str]:
        yield '{"status": "Pulling"}'
        raise OSError(f"socket closed talking to {SECRET}")

    async with audited(request_with(audit), "bob", "image.pull", "env/n1:busybox") as entry:
        response = await ndjson_response(lines(), entry.later())
    assert audit.entries == []  # written when the stream ends, not when it starts
    with pytest.raises(OSError, match="socket closed"):
        async for _ in response.body_iterator:
            pass
    assert audit.entries == [("bob", "image.pull", "env/n1:busybox", INTERNAL, None)]
    assert "hunter2" not in json.dumps(audit.entries)


async def test_a_stream_that_fails_at_once_is_recorded_once() -> None:
    audit = FakeAudit()

    async def lines() -> AsyncIterator[str]:
        raise RuntimeError(SECRET)
        yield ""  # pragma: no cover - makes this an async generator

    with pytest.raises(RuntimeError):
        async with audited(request_with(audit), "bob", "image.pull", "env/n1:x") as entry:
            await ndjson_response(lines(), entry.later())
    assert audit.entries == [("bob", "image.pull", "env/n1:x", INTERNAL, None)]
