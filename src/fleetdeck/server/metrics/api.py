"""``/api/v1/metrics``: metrics history by target, metric, range and step; the metric names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from fleetdeck.errors import NotFoundError
from fleetdeck.server.auth.deps import Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.metrics.catalog import METRICS
from fleetdeck.server.metrics.query import DEFAULT_RETENTION, MetricsQuery

router = APIRouter(tags=["metrics"])


class MetricName(BaseModel):
    """One metric the store keeps."""

    name: str
    unit: str
    kinds: list[str]
    description: str
    instance: str | None


class MetricPoint(BaseModel):
    """One step's average, and the lowest and highest sample in it."""

    time: str
    value: float
    min: float | None = None
    max: float | None = None


class MetricSeriesOut(BaseModel):
    """The points of one instance (a mount point, an interface, or "" for none)."""

    instance: str
    points: list[MetricPoint]


class MetricsResult(BaseModel):
    """``GET /metrics/query``."""

    target: str
    kind: str
    metric: str
    unit: str
    start: str
    end: str
    step: int
    resolution: str = "raw"
    series: list[MetricSeriesOut]


@router.get("/metrics/names")
async def metric_names(who: Viewer) -> list[MetricName]:
    """Every metric the store keeps, with its unit and what it applies to."""
    return [
        MetricName(
            name=m.name,
            unit=m.unit,
            kinds=list(m.kinds),
            description=m.description,
            instance=m.instance,
        )
        for m in METRICS.values()
    ]


@router.get("/metrics/query")
async def metrics_query(
    request: Request,
    who: Viewer,
    target: Annotated[str, Query(description="ENV/NODE or ENV/NODE/CONTAINER")],
    metric: Annotated[str, Query(description="a name from /metrics/names")],
    start: Annotated[str | None, Query(description="ISO 8601 or epoch seconds")] = None,
    end: Annotated[str | None, Query(description="ISO 8601 or epoch seconds")] = None,
    step: Annotated[int | None, Query(description="seconds per point")] = None,
) -> MetricsResult:
    """Average of ``metric`` per ``step`` seconds over ``[start, end)`` (default last hour).

    The resolution (raw, 1m, 1h rollups) follows the range and step; see ``docs/metrics.md``.
    """
    reconciler = getattr(request.app.state, "metrics_retention", None)
    retention = reconciler.retention if reconciler is not None else DEFAULT_RETENTION
    query = MetricsQuery.build(target, metric, start, end, step, retention=retention)
    fleet: Any = getattr(request.app.state, "fleet", None)
    if fleet is not None and query.target.environment not in fleet.environment_names():
        raise NotFoundError(
            f"no environment {query.target.environment!r}",
            hint="list them with: fleetdeck env ls",
        )
    return MetricsResult.model_validate(await query.run(request.app.state.store))
