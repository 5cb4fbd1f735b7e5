"""Metrics history queries: a target, a metric, a time range and a step; averages per step.

Targets are ``ENV/NODE`` (the host), ``ENV/NODE/CONTAINER`` (a container by name or id
prefix) or ``ENV/NODE/*`` (every container of the node: one series per container, named in
the series' ``target``). A container's history follows its name, so a container re-created
under the same name (a redeploy) keeps one continuous series. Samples are bucketed as
``(ts - start) / step`` with integer division, which SQLite and PostgreSQL compute alike.

The resolution follows the range and step (:func:`pick_resolution`): raw samples for steps
under a minute within the raw retention, 1-minute rollups for steps under an hour within
their retention, else 1-hour rollups; the step is never finer than the resolution. The
newest part that is not rolled up yet is read from the next finer level (down to raw), so
charts reach "now" at every resolution. Each point has the step's average, min and max.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from fleetdeck.clock import SYSTEM
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.metrics.catalog import CONTAINER, HOST, METRICS
from fleetdeck.server.metrics.retention import HOUR, MINUTE, Retention, done_until
from fleetdeck.server.store.models import MetricRollup, MetricSample, MetricSeries

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql import ColumnElement

    from fleetdeck.clock import Clock
    from fleetdeck.server.store import Store

MAX_POINTS = 11000
#: Longest step a query may ask for (10 years of seconds: one point over any kept range).
MAX_STEP = 10 * 366 * 86400
#: Points a query without a step aims at.
DEFAULT_POINTS = 720
DEFAULT_RANGE = timedelta(hours=1)
#: The container part of a target meaning "every container of the node".
ALL = "*"
#: The defaults of the server's settings (queries built outside a server use these).
DEFAULT_RETENTION = Retention(raw_s=86400.0, minute_s=14 * 86400.0, hour_s=400 * 86400.0)
RESOLUTION_NAMES = {0: "raw", MINUTE: "1m", HOUR: "1h"}
#: (target name, instance, bucket) -> [sum, count, min, max]
_Buckets = dict[tuple[str, str, int], list[float]]


@dataclass(frozen=True)
class Target:
    """What a query is about."""

    environment: str
    node: str
    container: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """``ENV/NODE`` or ``ENV/NODE/CONTAINER``, else InvalidInputError."""
        parts = text.strip().strip("/").split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidInputError(
                f"bad metrics target {text!r}",
                hint="use ENV/NODE or ENV/NODE/CONTAINER (ENV alone for a single-node environment)",
            )
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    @property
    def kind(self) -> str:
        """``host`` or ``container``."""
        return HOST if self.container is None else CONTAINER

    def __str__(self) -> str:
        return "/".join(p for p in (self.environment, self.node, self.container) if p)


def parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time or epoch seconds (UTC if no zone), else InvalidInputError."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise InvalidInputError(f"{name} must be an ISO 8601 time or epoch seconds") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pick_resolution(age_s: float, step: int, retention: Retention) -> int:
    """0 (raw), 60 or 3600: the coarsest level not coarser than ``step`` that reaches back."""
    if step < MINUTE and age_s <= retention.raw_s:
        return 0
    if step < HOUR and age_s <= retention.minute_s:
        return MINUTE
    return HOUR


@dataclass(frozen=True)
class MetricsQuery:
    """A validated query: use :meth:`build`."""

    target: Target
    metric: str
    start: datetime
    end: datetime
    step: int
    resolution: int = 0

    @classmethod
    def build(
        cls,
        target: str,
        metric: str,
        start: str | None = None,
        end: str | None = None,
        step: int | None = None,
        now: datetime | None = None,
        retention: Retention = DEFAULT_RETENTION,
        clock: Clock = SYSTEM,
    ) -> MetricsQuery:
        """Parse and check a query's parameters (InvalidInputError says what is wrong).

        ``now`` (default: ``clock.now()``) is the present: the default end, and what
        decides which resolution still reaches back to ``start``.
        """
        parsed = Target.parse(target)
        info = METRICS.get(metric)
        if info is None:
            raise InvalidInputError(
                f"unknown metric {metric!r}", hint="list them with GET /api/v1/metrics/names"
            )
        if parsed.kind not in info.kinds:
            raise InvalidInputError(f"metric {metric!r} is not kept for a {parsed.kind}")
        now = now or clock.now()
        end_t = parse_time(end, "end") or now
        start_t = parse_time(start, "start") or end_t - DEFAULT_RANGE
        if start_t >= end_t:
            raise InvalidInputError("start must be before end")
        seconds = (end_t - start_t).total_seconds()
        if step is None:
            step = max(10, math.ceil(seconds / DEFAULT_POINTS))
        if step < 1:
            raise InvalidInputError("step must be at least 1 second")
        if seconds / step > MAX_POINTS:
            raise InvalidInputError(
                f"{math.ceil(seconds / step)} points asked; at most {MAX_POINTS}",
                hint="use a larger step or a shorter range",
            )
        resolution = pick_resolution((now - start_t).total_seconds(), step, retention)
        if resolution:
            step = max(step, resolution)
            start_t = datetime.fromtimestamp(start_t.timestamp() // resolution * resolution, UTC)
        return cls(parsed, metric, start_t, end_t, int(step), resolution)

    def _series_filter(self) -> list[ColumnElement[bool]]:
        where = [
            MetricSeries.environment == self.target.environment,
            MetricSeries.node == self.target.node,
            MetricSeries.kind == self.target.kind,
            MetricSeries.metric == self.metric,
        ]
        ref = self.target.container
        if ref is not None and ref != ALL:
            match = [MetricSeries.target_name == ref]
            if len(ref) >= 3:  # an id prefix, as container refs elsewhere
                match.append(MetricSeries.target_id.startswith(ref, autoescape=True))
            where.append(or_(*match))
        return where

    async def _collect(
        self, session: AsyncSession, level: int, span: tuple[int, int], out: _Buckets
    ) -> None:
        """Add ``level``'s data in ``[span)`` to ``out`` (sum and count keep averages exact)."""
        start_ts = int(self.start.timestamp())
        cols: tuple[Any, ...]
        if level == 0:
            v = MetricSample.value
            cols = (MetricSample.ts, func.sum(v), func.count(), func.min(v), func.max(v))
            joined: Any = MetricSample
            levels: list[ColumnElement[bool]] = []
        else:
            r = MetricRollup
            cols = (r.ts, func.sum(r.avg * r.count), func.sum(r.count), func.min(r.min),
                    func.max(r.max))  # fmt: skip
            joined, levels = r, [r.step == level]
        ts, total, count, low, high = cols
        every = self.target.container == ALL
        name = MetricSeries.target_name if every else MetricSeries.environment  # constant
        bucket = (ts - start_ts).self_group().op("/")(self.step).label("bucket")
        stmt = (
            select(name, MetricSeries.instance, bucket, total, count, low, high)
            .join(joined, joined.series_id == MetricSeries.id)
            .where(*self._series_filter(), *levels, ts >= span[0], ts < span[1])
            .group_by(name, MetricSeries.instance, bucket)
        )
        for target, instance, index, s, n, lo, hi in (await session.execute(stmt)).all():
            key = (target if every else "", instance, int(index))
            acc = out.setdefault(key, [0.0, 0.0, lo, hi])
            acc[0] += s
            acc[1] += n
            acc[2], acc[3] = min(acc[2], lo), max(acc[3], hi)

    async def run(self, store: Store) -> dict[str, Any]:
        """The answer: one series per instance, a point (avg, min, max) per step."""
        start_ts, end_ts = int(self.start.timestamp()), int(self.end.timestamp())
        buckets: _Buckets = {}
        async with store.session() as session:
            begin = start_ts
            for level in (HOUR, MINUTE):
                if level > self.resolution or begin >= end_ts:
                    continue
                until = min(await done_until(session, level) or 0, end_ts)
                if until > begin:
                    await self._collect(session, level, (begin, until), buckets)
                    begin = until
            if begin < end_ts:
                await self._collect(session, 0, (begin, end_ts), buckets)
        series: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for (target, instance, index), (total, count, low, high) in sorted(buckets.items()):
            when = datetime.fromtimestamp(start_ts + index * self.step, UTC)
            point = {"time": when.isoformat(), "value": total / count, "min": low, "max": high}
            series.setdefault((target, instance), []).append(point)
        return {
            "target": str(self.target),
            "kind": self.target.kind,
            "metric": self.metric,
            "unit": METRICS[self.metric].unit,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "step": self.step,
            "resolution": RESOLUTION_NAMES[self.resolution],
            "series": [
                {"instance": instance, "target": target or None, "points": points}
                for (target, instance), points in series.items()
            ],
        }
