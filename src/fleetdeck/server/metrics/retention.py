"""The metrics retention reconciler: raw samples rolled up to 1-minute and 1-hour buckets, pruned.

States (:class:`RetentionState`): ``idle`` between passes, ``rolling_up``, ``pruning``, and
``failed`` when the last pass raised (the next pass retries). Every
:data:`ROLLUP_INTERVAL_S` seconds by default (``FLEETDECK_METRICS_ROLLUP_INTERVAL_SECONDS``)
one pass:

1. rolls raw samples of finished minutes up into ``metric_rollups`` rows with ``step`` 60
   (count, min, max, avg per series and minute), at most :data:`CHUNK_S` of raw per
   transaction;
2. rolls finished hours of 1-minute rows up into ``step`` 3600 rows (averages weighted by
   count, min of mins, max of maxes);
3. deletes raw samples, 1-minute and 1-hour rows older than their retention, then series
   left with no data at all.

How far each step is done is kept in ``metric_rollup_state`` and moved in the same
transaction as the rows it covers, and rows are upserted, so a crash anywhere repeats at
most one chunk with the same result. The writer moves ``done_until`` back when samples
arrive for buckets already rolled up (an agent replaying its buffer after a partition), so
the gap a partition left is filled in the rollups too. A bucket is rolled up once it ended
:data:`GRACE_S` ago. There is no leader gate yet: fleetdeck runs one server replica on
SQLite; two replicas would repeat each other's work, not corrupt it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fleetdeck.clock import SYSTEM
from fleetdeck.server.loops import BackgroundLoop, Backoff
from fleetdeck.server.store.models import (
    MetricRollup,
    MetricRollupState,
    MetricSample,
    MetricSeries,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql import Select

    from fleetdeck.clock import Clock
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.store import Store

MINUTE = 60
HOUR = 3600
ROLLUP_INTERVAL_S = 60.0
#: A bucket is rolled up once it ended this long ago (samples still on their way).
GRACE_S = 15
#: Raw samples rolled up per transaction at most (1-minute rows: a day per transaction).
CHUNK_S = 3600
HOUR_CHUNK_S = 86400

log = logging.getLogger(__name__)


class RetentionState(StrEnum):
    """What the reconciler is doing."""

    idle = "idle"
    rolling_up = "rolling_up"
    pruning = "pruning"
    failed = "failed"


@dataclass(frozen=True)
class Retention:
    """Seconds each resolution is kept."""

    raw_s: float
    minute_s: float
    hour_s: float

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> Retention:
        """The retention the operator set (``FLEETDECK_METRICS_*_RETENTION_*``)."""
        return cls(
            raw_s=settings.metrics_raw_retention_hours * 3600.0,
            minute_s=settings.metrics_minute_retention_days * 86400.0,
            hour_s=settings.metrics_hour_retention_days * 86400.0,
        )

    def of(self, step: int) -> float:
        """Seconds kept at resolution ``step`` (0 = raw, 60, 3600)."""
        return {0: self.raw_s, MINUTE: self.minute_s}.get(step, self.hour_s)


@dataclass
class PassReport:
    """What one pass did."""

    minute_buckets: int = 0
    hour_buckets: int = 0
    raw_pruned: int = 0
    minute_pruned: int = 0
    hour_pruned: int = 0
    series_pruned: int = 0


def _floor(ts: float, step: int) -> int:
    return int(ts // step) * step


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def done_until(session: AsyncSession, step: int) -> int | None:
    """Buckets of ``step`` before this time are rolled up (None: never rolled up)."""
    return await session.scalar(
        select(MetricRollupState.done_until).where(MetricRollupState.step == step)
    )


async def _set_done(session: AsyncSession, step: int, until: int) -> None:
    row = await session.get(MetricRollupState, step)
    if row is None:
        session.add(MetricRollupState(step=step, done_until=until))
    else:
        row.done_until = until


class MetricsRetentionReconciler:
    """Rolls metrics up and prunes them by age, every ``interval`` seconds.

    Args:
        store: The server's store.
        retention: How long each resolution is kept.
        interval: Seconds between passes.
        on_pruned: Called after series were deleted (the writer forgets cached series ids).
        clock: The present that retention and the rollup grace are measured from.
    """

    def __init__(
        self,
        store: Store,
        retention: Retention,
        *,
        interval: float = ROLLUP_INTERVAL_S,
        on_pruned: Callable[[], None] | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self.store = store
        self.clock = clock
        self.retention = retention
        self.interval = interval
        self.on_pruned = on_pruned
        self.state = RetentionState.idle
        self.last: PassReport | None = None
        self.loop = BackgroundLoop(
            "metrics-retention", step=self._pass, interval=interval, jitter=0.1,
            backoff=Backoff(1.0, max(1.0, interval)), clock=clock,
        )  # fmt: skip

    def start(self) -> None:
        """Run passes in the background."""
        self.loop.start()

    async def stop(self) -> None:
        """Stop (a pass cut short is repeated by the next start)."""
        await self.loop.stop()

    async def _pass(self) -> None:
        """One step of the loop (a failure is logged and retried by the loop, with backoff)."""
        try:
            report = await self.run_once()
        except Exception:
            self.state = RetentionState.failed
            raise
        if report.raw_pruned or report.minute_pruned or report.hour_pruned:
            log.info("metrics retention: %s", report)

    async def run_once(self, now: float | None = None) -> PassReport:
        """One pass: roll up, then prune; safe to repeat or to cut short at any point."""
        now = self.clock.time() if now is None else now
        report = PassReport()
        self.state = RetentionState.rolling_up
        report.minute_buckets = await self._roll_minutes(now)
        report.hour_buckets = await self._roll_hours(now)
        self.state = RetentionState.pruning
        await self._prune(now, report)
        self.state = RetentionState.idle
        self.last = report
        return report

    def _upsert(self, source: Select[tuple[object, ...]]) -> object:
        insert = sqlite_insert if self.store.is_sqlite else pg_insert
        cols = ["series_id", "step", "ts", "count", "min", "max", "avg"]
        stmt = insert(MetricRollup).from_select(cols, source)
        new = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=["series_id", "step", "ts"],
            set_={"count": new.count, "min": new.min, "max": new.max, "avg": new.avg},
        )

    async def _roll_minutes(self, now: float) -> int:
        end = _floor(now - GRACE_S, MINUTE)
        oldest = _floor(now - self.retention.raw_s, MINUTE)
        rolled = 0
        while True:
            async with self.store.transaction() as session:
                start = await done_until(session, MINUTE)
                if start is None:
                    first = await session.scalar(select(func.min(MetricSample.ts)))
                    start = _floor(first, MINUTE) if first is not None else end
                start = max(start, oldest)
                if start >= end:
                    await _set_done(session, MINUTE, max(start, end))
                    return rolled
                stop = min(end, start + CHUNK_S)
                bucket = (MetricSample.ts.op("/")(MINUTE) * MINUTE).label("bucket")
                source = (
                    select(
                        MetricSample.series_id, literal(MINUTE), bucket, func.count(),
                        func.min(MetricSample.value), func.max(MetricSample.value),
                        func.avg(MetricSample.value),
                    )
                    .where(MetricSample.ts >= start, MetricSample.ts < stop)
                    .group_by(MetricSample.series_id, bucket)
                )  # fmt: skip
                rolled += _count(await session.execute(self._upsert(source)))  # type: ignore[call-overload]
                await _set_done(session, MINUTE, stop)
                hours = await done_until(session, HOUR)
                if hours is not None and hours > _floor(start, HOUR):
                    await _set_done(session, HOUR, _floor(start, HOUR))

    async def _roll_hours(self, now: float) -> int:
        oldest = _floor(now - self.retention.minute_s, HOUR)
        rolled = 0
        while True:
            async with self.store.transaction() as session:
                minutes = await done_until(session, MINUTE)
                end = _floor(minutes or 0, HOUR)
                start = await done_until(session, HOUR)
                if start is None:
                    first = await session.scalar(
                        select(func.min(MetricRollup.ts)).where(MetricRollup.step == MINUTE)
                    )
                    start = _floor(first, HOUR) if first is not None else end
                start = max(start, oldest)
                if start >= end:
                    await _set_done(session, HOUR, max(start, end))
                    return rolled
                stop = min(end, start + HOUR_CHUNK_S)
                r = MetricRollup
                bucket = (r.ts.op("/")(HOUR) * HOUR).label("bucket")
                total = func.sum(r.count)
                source = (
                    select(
                        r.series_id, literal(HOUR), bucket, total, func.min(r.min),
                        func.max(r.max), func.sum(r.avg * r.count) / total,
                    )
                    .where(r.step == MINUTE, r.ts >= start, r.ts < stop)
                    .group_by(r.series_id, bucket)
                )  # fmt: skip
                rolled += _count(await session.execute(self._upsert(source)))  # type: ignore[call-overload]
                await _set_done(session, HOUR, stop)

    async def _prune(self, now: float, report: PassReport) -> None:
        raw_cut = int(now - self.retention.raw_s)
        async with self.store.transaction() as session:
            result = await session.execute(delete(MetricSample).where(MetricSample.ts < raw_cut))
            report.raw_pruned = _count(result)
            for step, keep in ((MINUTE, self.retention.minute_s), (HOUR, self.retention.hour_s)):
                result = await session.execute(
                    delete(MetricRollup).where(
                        MetricRollup.step == step, MetricRollup.ts < now - keep
                    )
                )
                if step == MINUTE:
                    report.minute_pruned = _count(result)
                else:
                    report.hour_pruned = _count(result)
            no_raw = ~exists().where(MetricSample.series_id == MetricSeries.id)
            no_rollup = ~exists().where(MetricRollup.series_id == MetricSeries.id)
            result = await session.execute(delete(MetricSeries).where(no_raw, no_rollup))
            report.series_pruned = _count(result)
        if report.series_pruned and self.on_pruned is not None:
            self.on_pruned()
