"""Metrics rollups and retention on a real SQLite store: math, crash convergence, late data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete, func, select

from fleetdeck.clock import FrozenClock
from fleetdeck.server.metrics.query import MetricsQuery, pick_resolution
from fleetdeck.server.metrics.retention import (
    HOUR,
    MINUTE,
    MetricsRetentionReconciler,
    Retention,
    RetentionState,
)
from fleetdeck.server.metrics.writer import MetricsWriter
from fleetdeck.server.store.models import (
    MetricRollup,
    MetricRollupState,
    MetricSample,
    MetricSeries,
)

if TYPE_CHECKING:
    from fleetdeck.server.store import Store

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # on an hour boundary
#: The present of the writer: after every sample these tests write, none past retention.
CLOCK = FrozenClock(T0 + timedelta(days=1))
LONG = Retention(raw_s=10 * 365 * 86400.0, minute_s=10 * 365 * 86400.0, hour_s=20 * 365 * 86400.0)


def sample(at: datetime, value: float) -> tuple[str, str, dict[str, Any]]:
    """One node's message: a container's cpu_cores only (one series)."""
    containers = {"c1abcdef": {"name": "web", "cpu_cores": value}}
    return ("env", "n1", {"type": "metrics", "time": at.isoformat(), "containers": containers})


async def write_hours(store: Store, hours: int, skip: range = range(0)) -> MetricsWriter:
    """Samples every 10 s for ``hours`` hours; value = sample index (skip some indexes)."""
    writer = MetricsWriter(store, retention_s=LONG.raw_s, clock=CLOCK)
    items = [
        sample(T0 + timedelta(seconds=10 * i), float(i))
        for i in range(hours * 360)
        if i not in skip
    ]
    for at in range(0, len(items), 500):
        await writer.write(items[at : at + 500])
    return writer


async def rollups(store: Store, step: int) -> list[tuple[int, int, float, float, float]]:
    async with store.session() as s:
        rows = await s.execute(
            select(MetricRollup.ts, MetricRollup.count, MetricRollup.min, MetricRollup.max,
                   MetricRollup.avg)
            .where(MetricRollup.step == step)
            .order_by(MetricRollup.ts)
        )  # fmt: skip
        return [(ts, n, lo, hi, round(avg, 6)) for ts, n, lo, hi, avg in rows.all()]


async def count(store: Store, model: type[Any]) -> int:
    async with store.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_minutes_and_hours_hold_count_min_max_and_average(store: Store) -> None:
    await write_hours(store, 2)
    reconciler = MetricsRetentionReconciler(store, LONG)
    report = await reconciler.run_once((T0 + timedelta(hours=2, minutes=1)).timestamp())
    assert (report.minute_buckets, report.hour_buckets) == (120, 2)
    assert reconciler.state is RetentionState.idle
    minutes = await rollups(store, MINUTE)
    t0 = int(T0.timestamp())
    assert minutes[0] == (t0, 6, 0.0, 5.0, 2.5)
    assert minutes[1] == (t0 + 60, 6, 6.0, 11.0, 8.5)
    hours = await rollups(store, HOUR)
    assert hours == [
        (t0, 360, 0.0, 359.0, 179.5),
        (t0 + 3600, 360, 360.0, 719.0, 539.5),
    ]


async def test_a_second_pass_changes_nothing_and_a_crash_converges(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await write_hours(store, 3)
    now = (T0 + timedelta(hours=3, minutes=1)).timestamp()
    clean = MetricsRetentionReconciler(store, LONG)
    await clean.run_once(now)
    expected = (await rollups(store, MINUTE), await rollups(store, HOUR))
    await clean.run_once(now)
    assert (await rollups(store, MINUTE), await rollups(store, HOUR)) == expected

    # Start over and crash after the first chunk (an hour of raw) was committed.
    async with store.transaction() as s:
        await s.execute(delete(MetricRollup))
        await s.execute(delete(MetricRollupState))
    crashing = MetricsRetentionReconciler(store, LONG)
    calls = 0
    original = crashing._upsert

    def upsert_then_crash(source: Any) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("killed mid-rollup")
        return original(source)

    monkeypatch.setattr(crashing, "_upsert", upsert_then_crash)
    with pytest.raises(RuntimeError):
        await crashing.run_once(now)
    assert len(await rollups(store, MINUTE)) == 60  # the first chunk only
    await MetricsRetentionReconciler(store, LONG).run_once(now)  # the restart
    assert (await rollups(store, MINUTE), await rollups(store, HOUR)) == expected


async def test_late_samples_are_rolled_up_again(store: Store) -> None:
    """A partition's gap, filled by the agent's replay after rollups passed it."""
    gap = range(102, 162)  # 10 whole minutes missing in the first hour
    writer = await write_hours(store, 2, skip=gap)
    reconciler = MetricsRetentionReconciler(store, LONG)
    now = (T0 + timedelta(hours=2, minutes=1)).timestamp()
    await reconciler.run_once(now)
    assert len(await rollups(store, MINUTE)) == 110
    await writer.write([sample(T0 + timedelta(seconds=10 * i), float(i)) for i in gap])
    await reconciler.run_once(now)
    assert len(await rollups(store, MINUTE)) == 120
    hours = await rollups(store, HOUR)
    assert hours[0][1:] == (360, 0.0, 359.0, 179.5)


async def test_each_resolution_is_pruned_by_its_own_retention(store: Store) -> None:
    await write_hours(store, 3)
    reconciler = MetricsRetentionReconciler(store, LONG)
    end = T0 + timedelta(hours=3)
    await reconciler.run_once((end + timedelta(minutes=1)).timestamp())
    reconciler.retention = Retention(raw_s=3600.0, minute_s=2 * 3600.0, hour_s=6 * 3600.0)
    forgotten: list[bool] = []
    reconciler.on_pruned = lambda: forgotten.append(True)
    report = await reconciler.run_once((end + timedelta(minutes=1)).timestamp())
    assert report.raw_pruned == 2 * 360 + 6  # older than an hour
    assert report.minute_pruned == 61  # older than two hours
    assert len(await rollups(store, HOUR)) == 3
    await reconciler.run_once((end + timedelta(hours=5)).timestamp())
    assert await count(store, MetricSample) == 0
    assert await rollups(store, MINUTE) == []
    assert [r[0] for r in await rollups(store, HOUR)] == [int(T0.timestamp()) + 2 * 3600]
    assert forgotten == []
    await reconciler.run_once((end + timedelta(days=1)).timestamp())
    assert await count(store, MetricRollup) == 0
    assert await count(store, MetricSeries) == 0
    assert forgotten == [True]


@pytest.mark.parametrize(
    ("age", "step", "level"),
    [
        (timedelta(minutes=15), 10, 0),
        (timedelta(hours=20), 30, 0),
        (timedelta(hours=20), 120, MINUTE),
        (timedelta(days=2), 30, MINUTE),
        (timedelta(days=7), 900, MINUTE),
        (timedelta(days=20), 900, HOUR),
        (timedelta(days=30), 3600, HOUR),
    ],
)
def test_the_resolution_follows_range_and_step(age: timedelta, step: int, level: int) -> None:
    retention = Retention(raw_s=86400.0, minute_s=14 * 86400.0, hour_s=400 * 86400.0)
    assert pick_resolution(age.total_seconds(), step, retention) == level


async def test_queries_read_rollups_and_the_raw_tail_alike(store: Store) -> None:
    await write_hours(store, 3)
    now = T0 + timedelta(hours=3)
    # Rolled up to 2 h 30 only: the last half hour is read from raw samples.
    await MetricsRetentionReconciler(store, LONG).run_once(
        (T0 + timedelta(hours=2, minutes=30, seconds=20)).timestamp()
    )

    async def points(step: int) -> tuple[str, list[tuple[float, float, float]]]:
        query = MetricsQuery.build(
            "env/n1/web", "cpu_cores", T0.isoformat(), now.isoformat(), step, now=now,
            retention=Retention(raw_s=600.0, minute_s=LONG.minute_s, hour_s=LONG.hour_s),
        )  # fmt: skip
        result = await query.run(store)
        values = [(round(p["value"], 6), p["min"], p["max"]) for p in result["series"][0]["points"]]
        return result["resolution"], values

    level, hourly = await points(3600)
    assert level == "1h"
    assert hourly == [
        (179.5, 0.0, 359.0),
        (539.5, 360.0, 719.0),
        (899.5, 720.0, 1079.0),  # 30 min of 1m rollups + 30 min of raw
    ]
    level, by_ten = await points(600)
    assert level == "1m"
    assert by_ten[0] == (29.5, 0.0, 59.0)
    assert by_ten[-1] == (1049.5, 1020.0, 1079.0)  # from raw samples
    assert len(by_ten) == 18
