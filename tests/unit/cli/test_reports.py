"""``fleetdeck report capacity``: parameters sent, tables for people, JSON for scripts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fleetdeck.wire.metrics import CapacityReport
from tests.unit.cli.helpers import run_cli
from tests.unit.client.fake_server import served

if TYPE_CHECKING:
    import pytest

    from tests.unit.client.fake_server import FakeServer

URL = ("--url", "https://fleet.test:8443", "--token", "tok")
GIB = 1024**3


def report() -> dict[str, Any]:
    container = {
        "container": "web",
        "cpu_cores_p95": 0.05,
        "cpu_limit_cores": 2.0,
        "memory_working_set_bytes_p95": 20e6,
        "memory_limit_bytes": None,
        "no_limits": ["memory"],
        "limits_far_above_use": ["cpu"],
    }
    node = {
        "environment": "prod", "node": "prod-1", "status": "up", "step": 1210, "samples": 500,
        "cpu_count": 4.0, "cpu_cores_p50": 0.8, "cpu_cores_p95": 2.5, "cpu_headroom_cores": 1.5,
        "memory_total_bytes": 8.0 * GIB, "memory_used_bytes_p50": 2.0 * GIB,
        "memory_used_bytes_p95": 3.0 * GIB, "memory_headroom_bytes": 5.0 * GIB,
        "containers": [container],
    }  # fmt: skip
    return served(CapacityReport, {
        "window": "7d", "start": "2026-11-15T12:00:00Z", "end": "2026-11-22T12:00:00Z",
        "step": 1210, "oversize_factor": 4.0, "nodes": [node],
    })  # fmt: skip


def test_capacity_table_and_json(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/reports/capacity", report())
    table = run_cli(capsys, monkeypatch, "report", "capacity", "--env", "prod", *URL)
    assert table.code == 0, table.err
    sent = fake_server.last("GET", "/reports/capacity").url.params
    assert (sent["window"], sent["environment"]) == ("7d", "prod")
    assert "prod/prod-1" in table.out and "0.80 / 2.50" in table.out and "1.50" in table.out
    assert "no memory limit" in table.out and "cpu limit ≥ 4× p95 use" in table.out
    out = run_cli(capsys, monkeypatch, "report", "capacity", "-w", "24h", "-o", "json", *URL)
    assert out.code == 0, out.err
    assert fake_server.last("GET", "/reports/capacity").url.params["window"] == "24h"
    assert json.loads(out.out)["nodes"][0]["memory_headroom_bytes"] == 5.0 * GIB
