"""The shared metrics and capacity wire models keep the JSON the server has always sent.

The server builds these answers as dicts with ``datetime.isoformat()`` times (``+00:00``, and
an offset or microseconds where they had them); the models must give those strings back, not
pydantic's own ``Z`` form, and the client must read them as aware datetimes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from fastapi import FastAPI

from fleetdeck.wire.metrics import CapacityReport, MetricName, MetricsResult

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def query_answer() -> dict[str, Any]:
    """A ``/metrics/query`` answer as ``MetricsQuery.run`` builds it."""
    start = datetime(2026, 11, 22, 13, 59, 30, 123456, tzinfo=timezone(timedelta(hours=2)))
    points = [
        {"time": (T0 + timedelta(seconds=10 * i)).isoformat(), "value": i / 4, "min": 0.0,
         "max": float(i)}
        for i in range(3)
    ]  # fmt: skip
    return {
        "target": "prod/node1/web", "kind": "container", "metric": "cpu_cores", "unit": "cores",
        "start": start.isoformat(), "end": (T0 + timedelta(seconds=30)).isoformat(), "step": 10,
        "resolution": "raw",
        "series": [{"instance": "", "target": None, "points": points}],
    }  # fmt: skip


def capacity_answer() -> dict[str, Any]:
    """A ``/reports/capacity`` answer as ``CapacityReporter.report`` builds it."""
    container = {
        "container": "web", "cpu_cores_p95": 0.05, "cpu_limit_cores": None,
        "memory_working_set_bytes_p95": 2e7, "memory_limit_bytes": 1e9, "no_limits": ["cpu"],
        "limits_far_above_use": ["memory"],
    }  # fmt: skip
    node = {
        "environment": "prod", "node": "node1", "status": "up", "step": 1210, "samples": 500,
        "cpu_count": 4.0, "cpu_cores_p50": 0.8, "cpu_cores_p95": 2.5, "cpu_headroom_cores": 1.5,
        "memory_total_bytes": 8e9, "memory_used_bytes_p50": 2e9, "memory_used_bytes_p95": 3e9,
        "memory_headroom_bytes": 5e9, "containers": [container],
    }  # fmt: skip
    return {
        "window": "7d", "start": (T0 - timedelta(days=7)).isoformat(),
        "end": T0.replace(microsecond=5).isoformat(), "step": 1210, "oversize_factor": 4.0,
        "nodes": [node],
    }  # fmt: skip


def test_metrics_result_dumps_the_keys_and_time_strings_it_was_built_from() -> None:
    sent = query_answer()
    wire = MetricsResult.model_validate(sent).model_dump_json()
    assert json.loads(wire) == sent
    assert list(json.loads(wire)) == list(sent)
    assert (
        '"time":"2026-11-22T12:00:00+00:00"' in wire
        and '"start":"2026-11-22T13:59:30.123456+02:00"' in wire
    )
    got = MetricsResult.model_validate_json(wire)
    assert got.series[0].points[1].time == T0 + timedelta(seconds=10)
    assert got.start.utcoffset() == timedelta(hours=2) and got.end.tzinfo is not None


def test_capacity_report_dumps_the_keys_and_time_strings_it_was_built_from() -> None:
    sent = capacity_answer()
    wire = CapacityReport.model_validate(sent).model_dump_json()
    assert json.loads(wire) == sent
    got = CapacityReport.model_validate_json(wire)
    assert got.end == T0.replace(microsecond=5) and got.start == T0 - timedelta(days=7)
    assert got.nodes[0].containers[0].no_limits == ["cpu"]


def test_python_dumps_keep_datetimes() -> None:
    dumped = MetricsResult.model_validate(query_answer()).model_dump()
    assert dumped["end"] == T0 + timedelta(seconds=30)
    assert isinstance(dumped["series"][0]["points"][0]["time"], datetime)


async def test_fastapi_sends_the_same_json() -> None:
    """A route returning the models (as the server's do) answers with the dicts' own strings."""
    app = FastAPI()

    @app.get("/query")
    async def query() -> MetricsResult:
        return MetricsResult.model_validate(query_answer())

    @app.get("/capacity")
    async def capacity() -> CapacityReport:
        return CapacityReport.model_validate(capacity_answer())

    @app.get("/names")
    async def names() -> list[MetricName]:
        return [MetricName(name="fs_used_bytes", unit="bytes", kinds=["host"], description="d",
                           instance="mountpoint")]  # fmt: skip

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/query")).json() == query_answer()
        assert (await client.get("/capacity")).json() == capacity_answer()
        assert (await client.get("/names")).json() == [
            {"name": "fs_used_bytes", "unit": "bytes", "kinds": ["host"], "description": "d",
             "instance": "mountpoint"}
        ]  # fmt: skip
