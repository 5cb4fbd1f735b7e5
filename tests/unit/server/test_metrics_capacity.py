"""Capacity report math: nearest-rank percentiles, limits far above use, window checks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from fleetdeck.durations import parse_duration
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.metrics.capacity import (
    OVERSIZE_FACTOR,
    CapacityReporter,
    _oversized,
    percentile,
)
from fleetdeck.server.metrics.query import DEFAULT_RETENTION


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(list(reversed(values)), 95) == 95.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 50) is None


def row(
    cpu: float | None, cpu_limit: float | None, mem: float | None, mem_limit: float | None
) -> dict[str, Any]:
    return {
        "cpu_cores_p95": cpu,
        "cpu_limit_cores": cpu_limit,
        "memory_working_set_bytes_p95": mem,
        "memory_limit_bytes": mem_limit,
    }


def test_limits_far_above_use() -> None:
    assert _oversized(row(0.1, 2.0, 10.0, 1000.0)) == ["cpu", "memory"]
    assert _oversized(row(0.6, 2.0, 300.0, 1000.0)) == []  # under the factor
    assert _oversized(row(0.5, 0.5 * OVERSIZE_FACTOR, None, 1000.0)) == ["cpu"]  # no data: no call
    assert _oversized(row(0.1, None, 10.0, None)) == []  # no limit is reported elsewhere


@pytest.mark.parametrize("window", ["1m", "91d"])
async def test_windows_out_of_bounds_are_refused(window: str) -> None:
    reporter = CapacityReporter(None, None, DEFAULT_RETENTION)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="between 15m and 90d"):
        await reporter.report(parse_duration(window))


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("7d") == timedelta(days=7)
    with pytest.raises(InvalidInputError, match="bad duration"):
        parse_duration("7 days")
