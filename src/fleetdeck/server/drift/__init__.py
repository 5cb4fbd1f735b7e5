"""Drift: managed stacks' live state against their deployed revision (docs/stacks.md, "Drift").

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
stacks and alerting parts (the watcher redeploys through the stack service and raises event
alerts) and :func:`stop` before them. :func:`start` returns the
:class:`~fleetdeck.server.drift.service.DriftService` (``ServerContext.drift``).

Modules: ``desired`` (the deployed revision per service, cached; ``x-fleetdeck.drift``),
``detect`` (the pure comparisons), ``watcher`` (the reconciler), ``repository``, ``service``
and the routes ``api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.drift.api import router
from fleetdeck.server.drift.repository import DriftRepository
from fleetdeck.server.drift.service import DriftService
from fleetdeck.server.drift.watcher import DriftWatcher

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store import Store

__all__ = ["DriftService", "router", "start", "stop"]


async def start(
    store: Store,
    audit: AuditLog,
    alerts: AlertService,
    stacks: StackService,
    clock: Clock,
    loops: LoopRegistry,
) -> DriftService:
    """Start the drift watcher's loop; the stack listing asks it for each stack's state."""
    repo = DriftRepository(store)
    watcher = DriftWatcher(stacks, repo, audit, alerts.report_event, clock)
    loops.add(watcher.loop)
    watcher.start()
    service = DriftService(watcher, repo, stacks)
    stacks.drift_state = service.state_of
    return service


async def stop(service: DriftService) -> None:
    """Stop the watcher (a revert in flight is a stack deploy: the stacks part waits on it)."""
    await service.watcher.stop()
