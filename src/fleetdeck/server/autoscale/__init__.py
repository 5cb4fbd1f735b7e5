"""Autoscaling: per-service policies synced by a reconciler with HPA's algorithm.

:mod:`.algorithm` decides (pure), :mod:`.observe` sees a service, :mod:`.reconciler` runs
the syncs, :mod:`.repository` stores policies and decisions, :mod:`.api` serves them. The
app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the stacks
part started (the autoscaler scales stack services through the stacks' scaler).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.autoscale.api import router
from fleetdeck.server.autoscale.reconciler import Autoscaler, ReportEvent
from fleetdeck.server.autoscale.repository import AutoscaleRepository

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.metrics.latest import LatestSamples
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store import Store

__all__ = ["Autoscaler", "router", "start"]


def start(
    settings: ServerSettings,
    store: Store,
    stacks: StackService,
    fleet: Fleet,
    latest: LatestSamples,
    audit: AuditLog,
    clock: Clock,
    loops: LoopRegistry,
    report_event: ReportEvent | None = None,
) -> Autoscaler:
    """Create the autoscaler and start its loop (``ServerContext.autoscaler``)."""
    autoscaler = Autoscaler(
        AutoscaleRepository(store), stacks, fleet, latest, audit, clock,
        sync_s=settings.autoscale_sync_s, prometheus_url=settings.autoscale_prometheus_url,
        report_event=report_event,
    )  # fmt: skip
    loops.start(autoscaler.loop)
    return autoscaler
