"""``fleetdeck metrics``: ENV alone for a one-node environment, human sizes, ``metrics names``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.cli.metrics import human_value
from fleetdeck.wire.metrics import MetricName, MetricsResult
from tests.unit.cli.helpers import run_cli
from tests.unit.client.fake_server import served

if TYPE_CHECKING:
    from tests.unit.client.fake_server import FakeServer

URL = ("--url", "https://fleet.test:8443", "--token", "tok")


def _result(unit: str, value: float) -> dict[str, Any]:
    return served(MetricsResult, {
        "target": "home/node1", "kind": "host", "metric": "memory_used_bytes", "unit": unit,
        "start": "2026-01-01T00:00:00+00:00", "end": "2026-01-01T00:15:00+00:00", "step": 60,
        "resolution": "raw",
        "series": [{"instance": "", "points": [{"time": "2026-01-01T00:00:00+00:00",
                                                  "value": value}]}],
    })  # fmt: skip


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (512, "bytes", "512 B"),
        (1536, "bytes", "1.5 KiB"),
        (3 * 1024**3 + 512 * 1024**2, "bytes", "3.5 GiB"),
        (12.3 * 1024, "bytes/s", "12.3 KiB/s"),
        (42.123, "%", "42.1%"),
        (0.123456, "cores", "0.1235"),
    ],
)
def test_values_print_human_sized(value: float, unit: str, shown: str) -> None:
    assert human_value(value, unit) == shown


def test_an_environment_alone_is_sent_as_the_target_and_bytes_are_human_sized(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/metrics/query", _result("bytes", 2.5 * 1024**3))
    result = run_cli(capsys, monkeypatch, "metrics", "home", "-m", "memory_used_bytes", *URL)
    assert result.code == 0, result.err
    assert fake_server.requests[-1].url.params["target"] == "home"
    assert "2.5 GiB" in result.out and "of home/node1" in result.out
    raw = run_cli(capsys, monkeypatch, "metrics", "home", "-o", "json", *URL)
    assert json.loads(raw.out)["series"][0]["points"][0]["value"] == 2.5 * 1024**3


def test_metrics_names_lists_every_metric(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [
        {"name": "cpu_cores", "unit": "cores", "kinds": ["host", "container"],
         "description": "CPU in use", "instance": None},
        {"name": "fs_used_percent", "unit": "%", "kinds": ["host"],
         "description": "filesystem use", "instance": "mount"},
    ]  # fmt: skip
    fake_server.on("GET", "/metrics/names", [served(MetricName, n) for n in names])
    result = run_cli(capsys, monkeypatch, "metrics", "names", *URL)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["NAME", "UNIT", "FOR", "PER", "DESCRIPTION"]
    assert lines[1].split()[:2] == ["cpu_cores", "cores"] and "mount" in lines[2]
    listed = json.loads(run_cli(capsys, monkeypatch, "metrics", "names", "-o", "json", *URL).out)
    assert [m["name"] for m in listed] == ["cpu_cores", "fs_used_percent"]
