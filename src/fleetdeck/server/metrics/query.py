"""Metrics history queries: a target, a metric, a time range and a step; averages per step.

Targets are ``ENV/NODE`` (the host) or ``ENV/NODE/CONTAINER`` (a container by name or id
prefix). A container's history follows its name, so a container re-created under the same
name (a redeploy) keeps one continuous series. Samples are bucketed as
``(ts - start) / step`` with integer division, which SQLite and PostgreSQL compute alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.metrics.catalog import CONTAINER, HOST, METRICS
from fleetdeck.server.store.models import MetricSample, MetricSeries

if TYPE_CHECKING:
    from fleetdeck.server.store import Store

MAX_POINTS = 11000
#: Points a query without a step aims at.
DEFAULT_POINTS = 720
DEFAULT_RANGE = timedelta(hours=1)


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
                f"bad metrics target {text!r}", hint="use ENV/NODE or ENV/NODE/CONTAINER"
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


@dataclass(frozen=True)
class MetricsQuery:
    """A validated query: use :meth:`build`."""

    target: Target
    metric: str
    start: datetime
    end: datetime
    step: int

    @classmethod
    def build(
        cls,
        target: str,
        metric: str,
        start: str | None = None,
        end: str | None = None,
        step: int | None = None,
        now: datetime | None = None,
    ) -> MetricsQuery:
        """Parse and check a query's parameters (InvalidInputError says what is wrong)."""
        parsed = Target.parse(target)
        info = METRICS.get(metric)
        if info is None:
            raise InvalidInputError(
                f"unknown metric {metric!r}", hint="list them with GET /api/v1/metrics/names"
            )
        if parsed.kind not in info.kinds:
            raise InvalidInputError(f"metric {metric!r} is not kept for a {parsed.kind}")
        end_t = parse_time(end, "end") or (now or datetime.now(UTC))
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
        return cls(parsed, metric, start_t, end_t, int(step))

    async def run(self, store: Store) -> dict[str, Any]:
        """The answer: one series per instance, points averaged per step."""
        start_ts, end_ts = int(self.start.timestamp()), int(self.end.timestamp())
        where = [
            MetricSeries.environment == self.target.environment,
            MetricSeries.node == self.target.node,
            MetricSeries.kind == self.target.kind,
            MetricSeries.metric == self.metric,
        ]
        ref = self.target.container
        if ref is not None:
            match = [MetricSeries.target_name == ref]
            if len(ref) >= 3:  # an id prefix, as container refs elsewhere
                match.append(MetricSeries.target_id.startswith(ref, autoescape=True))
            where.append(or_(*match))
        offset = (MetricSample.ts - start_ts).self_group()
        bucket = offset.op("/")(self.step).label("bucket")
        stmt = (
            select(MetricSeries.instance, bucket, func.avg(MetricSample.value))
            .join(MetricSample, MetricSample.series_id == MetricSeries.id)
            .where(*where, MetricSample.ts >= start_ts, MetricSample.ts < end_ts)
            .group_by(MetricSeries.instance, bucket)
            .order_by(MetricSeries.instance, bucket)
        )
        async with store.session() as session:
            rows = (await session.execute(stmt)).all()
        series: dict[str, list[dict[str, Any]]] = {}
        for instance, index, value in rows:
            when = datetime.fromtimestamp(start_ts + int(index) * self.step, UTC)
            series.setdefault(instance, []).append({"time": when.isoformat(), "value": value})
        return {
            "target": str(self.target),
            "kind": self.target.kind,
            "metric": self.metric,
            "unit": METRICS[self.metric].unit,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "step": self.step,
            "series": [{"instance": k, "points": v} for k, v in series.items()],
        }
