from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from fleetdeck.compose.short_syntax import parse_port, parse_volume
from fleetdeck.compose.values import (
    ComposeValueError,
    env_map,
    host_map,
    parse_duration,
    parse_size,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("2h45m", 9900.0),
        ("100us", 0.0001),
        ("10", 10.0),
        (5, 5.0),
        (2.5, 2.5),
    ],
)
def test_durations_are_seconds(value: Any, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "10 parsecs", "1x", "s", "1m 30s", True, [1]])
def test_bad_durations(value: Any) -> None:
    with pytest.raises(ComposeValueError, match="invalid duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (1024, 1024),
        ("1024", 1024),
        ("1k", 1024),
        ("512m", 512 << 20),
        ("512M", 512 << 20),
        ("1g", 1 << 30),
        ("1gb", 1 << 30),
        ("2GiB", 2 << 30),
        ("1.5g", 3 << 29),
        ("100b", 100),
    ],
)
def test_sizes_are_bytes(value: Any, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["lots", "-1m", "1q", -5, True])
def test_bad_sizes(value: Any) -> None:
    with pytest.raises(ComposeValueError, match="invalid size"):
        parse_size(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80", [{"target": 80}]),
        ("8080:80", [{"target": 80, "published": "8080"}]),
        ("127.0.0.1:8080:80", [{"target": 80, "published": "8080", "host_ip": "127.0.0.1"}]),
        ("127.0.0.1::80", [{"target": 80, "host_ip": "127.0.0.1"}]),
        ("53:53/udp", [{"target": 53, "published": "53", "protocol": "udp"}]),
        ("[::1]:8080:80", [{"target": 80, "published": "8080", "host_ip": "::1"}]),
        ("8000-8010:80", [{"target": 80, "published": "8000-8010"}]),
        (
            "9000-9001:9100-9101/udp",
            [
                {"target": 9100, "published": "9000", "protocol": "udp"},
                {"target": 9101, "published": "9001", "protocol": "udp"},
            ],
        ),
        ("3000-3001", [{"target": 3000}, {"target": 3001}]),
    ],
)
def test_short_ports(text: str, expected: list[dict[str, Any]]) -> None:
    result = [{k: v for k, v in p.items() if v not in (None, "tcp")} for p in parse_port(text)]
    assert result == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("80:abc", "'abc' is not a port number"),
        ("70000:80", "ports are 1-65535"),
        ("9000-9002:9000-9001", "ranges differ in length"),
        ("90-80:80", "ascending"),
        ("[::1:80:80", "expected [IPv6]"),
    ],
)
def test_bad_short_ports(text: str, message: str) -> None:
    with pytest.raises(ComposeValueError, match=re.escape(message)):
        parse_port(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/data", {"type": "volume", "target": "/data", "read_only": False}),
        ("db:/var/lib/db", {"type": "volume", "source": "db", "target": "/var/lib/db"}),
        ("db:/x:nocopy", {"type": "volume", "source": "db", "volume": {"nocopy": True}}),
        ("./conf:/etc/app:ro", {"type": "bind", "source": "/stack/conf", "read_only": True}),
        ("../shared:/s", {"type": "bind", "source": "/shared"}),
        ("/srv/x:/x:rw,z", {"type": "bind", "source": "/srv/x", "read_only": False}),
        ("/srv/x:/x:rshared", {"bind": {"create_host_path": True, "propagation": "rshared"}}),
    ],
)
def test_short_volumes(text: str, expected: dict[str, Any]) -> None:
    result = parse_volume(text, Path("/stack"))
    assert {k: result.get(k) for k in expected} == expected


def test_home_in_bind_source_is_expanded() -> None:
    assert parse_volume("~/x:/x", Path("/stack"))["source"] == str(Path.home() / "x")


@pytest.mark.parametrize("text", ["relative", "a:b:c:d", "src:relative/target"])
def test_bad_short_volumes(text: str) -> None:
    with pytest.raises(ComposeValueError, match="invalid volume"):
        parse_volume(text, None)


def test_env_forms() -> None:
    assert env_map(["A=1", "B", "C=", "D=x=y"]) == {"A": "1", "B": None, "C": "", "D": "x=y"}
    assert env_map({"A": 1, "B": None, "C": True, "D": 1.5}) == {
        "A": "1",
        "B": None,
        "C": "true",
        "D": "1.5",
    }
    with pytest.raises(ComposeValueError, match="list of KEY=VALUE or a mapping"):
        env_map("A=1")


def test_extra_hosts_forms() -> None:
    expected = {"db": ["10.0.0.2"], "v6": ["::1"]}
    assert host_map(["db:10.0.0.2", "v6=::1"]) == expected
    assert host_map(["db=10.0.0.2", "v6:[::1]"]) == expected
    assert host_map({"db": "10.0.0.2", "v6": ["::1"]}) == expected
