"""UI pages over the metrics history: the capacity report (charts are drawn by history.js).

The dashboard, environment and container pages carry ``data-history`` sections that
``static/history.js`` fills from ``/api/v1/metrics/query``; :func:`host_targets` gives the
dashboard its fleet-wide targets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from fleetdeck.durations import parse_duration
from fleetdeck.errors import FleetdeckError
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.metrics.capacity import CapacityReporter
from fleetdeck.server.ui.web import PageUser, render

if TYPE_CHECKING:
    from starlette.responses import Response

    from fleetdeck.server.fleet.service import Fleet

router = APIRouter(include_in_schema=False)

#: Windows offered on the capacity page.
WINDOWS = ("1h", "24h", "7d", "30d")
#: Nodes charted on the dashboard at most (one line each).
DASHBOARD_NODES = 12


def host_targets(fleet: Fleet) -> list[str]:
    """``ENV/NODE`` of the fleet's nodes, for the dashboard's fleet charts."""
    targets = [f"{v.name}/{n.name}" for v in fleet.views() for n in v.nodes]
    return sorted(targets)[:DASHBOARD_NODES]


def _share(part: float | None, whole: float | None) -> float:
    """``part`` as a percentage of ``whole`` for the page's gauges (0 when unknown)."""
    if part is None or not whole:
        return 0.0
    return max(0.0, min(100.0, 100.0 * part / whole))


@router.get("/reports/capacity")
async def capacity_page(request: Request, ctx: Ctx, who: PageUser, window: str = "7d") -> Response:
    """Per node p50/p95 CPU and memory, headroom, and containers' limits against use."""
    retention = ctx.metrics_retention.retention
    reporter = CapacityReporter(ctx.store, ctx.fleet, retention, ctx.clock)
    error = None
    report: dict[str, Any] | None = None
    try:
        report = await reporter.report(parse_duration(window))
    except FleetdeckError as exc:
        error = exc.message
    return render(
        request,
        who,
        "capacity.html",
        report=report,
        error=error,
        window=window,
        windows=WINDOWS,
        share=_share,
        range={"1h": "1h", "24h": "24h", "7d": "7d", "30d": "30d"}.get(window, "7d"),
        targets=host_targets(ctx.fleet),
    )
