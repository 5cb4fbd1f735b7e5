"""``/api/v1/metrics``: history by target, metric, range and step; names; the capacity report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from fleetdeck.durations import parse_duration
from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.server.auth.deps import Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import Ctx, context_of  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.metrics.capacity import CapacityReporter
from fleetdeck.server.metrics.catalog import METRICS
from fleetdeck.server.metrics.query import MAX_STEP, MetricsQuery
from fleetdeck.server.metrics.retention import Retention  # noqa: TC001 - a return annotation
from fleetdeck.wire.metrics import CapacityReport, MetricName, MetricsResult

router = APIRouter(tags=["metrics"])


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
    ctx: Ctx,
    who: Viewer,
    target: Annotated[
        str, Query(description="ENV/NODE, ENV/NODE/CONTAINER, or ENV of a single-node environment")
    ],
    metric: Annotated[str, Query(description="a name from /metrics/names")],
    start: Annotated[str | None, Query(description="ISO 8601 or epoch seconds")] = None,
    end: Annotated[str | None, Query(description="ISO 8601 or epoch seconds")] = None,
    step: Annotated[int | None, Query(le=MAX_STEP, description="seconds per point")] = None,
) -> MetricsResult:
    """Average of ``metric`` per ``step`` seconds over ``[start, end)`` (default last hour).

    The resolution (raw, 1m, 1h rollups) follows the range and step; see ``docs/metrics.md``.
    """
    fleet = ctx.fleet
    target = single_node_target(fleet, target)
    query = MetricsQuery.build(
        target, metric, start, end, step, retention=_retention(request),
        clock=ctx.clock,
    )  # fmt: skip
    if query.target.environment not in fleet.environment_names():
        raise NotFoundError(
            f"no environment {query.target.environment!r}",
            hint="list them with: fleetdeck env ls",
        )
    return MetricsResult.model_validate(await query.run(ctx.store))


def single_node_target(fleet: Any, target: str) -> str:
    """``ENV`` alone names the host of a single-node environment (most of a homelab's).

    Anything with a ``/`` is left as it is; an environment with several nodes, or none yet,
    is refused with the targets to use instead.
    """
    name = target.strip().strip("/")
    if fleet is None or not name or "/" in name:
        return target
    nodes = [n.name for n in fleet.view(fleet.require_environment(name)).nodes]
    if len(nodes) == 1:
        return f"{name}/{nodes[0]}"
    if not nodes:
        raise InvalidInputError(
            f"environment {name!r} has no node yet",
            hint=f"enrol its agent: fleetdeck env token {name}",
        )
    raise InvalidInputError(
        f"environment {name!r} has {len(nodes)} nodes: name one",
        hint="use " + ", ".join(f"{name}/{node}" for node in nodes),
    )


def _retention(request: Request) -> Retention:
    return context_of(request).metrics_retention.retention


@router.get("/reports/capacity")
async def capacity_report(
    request: Request,
    ctx: Ctx,
    who: Viewer,
    window: Annotated[str, Query(description="e.g. 1h, 24h, 7d (15m to 90d)")] = "7d",
    environment: Annotated[str | None, Query(description="only this environment")] = None,
) -> CapacityReport:
    """Per node p50/p95 CPU and memory over ``window``, headroom, containers' limits vs use."""
    reporter = CapacityReporter(ctx.store, ctx.fleet, _retention(request), ctx.clock)
    report = await reporter.report(parse_duration(window), environment)
    return CapacityReport.model_validate(report)
