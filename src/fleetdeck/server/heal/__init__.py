"""Auto-heal: restart unhealthy containers on plain hosts, report Swarm churn (docs/healing.md).

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
alerting and stacks parts (the healer raises alerts and holds off during deploys) and
:func:`stop` before them. :func:`start` returns the
:class:`~fleetdeck.server.heal.service.HealService` (``ServerContext.heal``).

Modules: ``policy`` (fields, defaults, layers), ``compose_policy`` (``x-fleetdeck.autoheal``),
``decide`` (the pure rules), ``churn`` (Swarm replacements), ``healer`` (the reconciler),
``repository``, ``views``, ``service`` and the routes ``api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.alerts.silences import is_active
from fleetdeck.server.heal.api import router
from fleetdeck.server.heal.healer import Healer
from fleetdeck.server.heal.repository import HealRepository
from fleetdeck.server.heal.service import HealService
from fleetdeck.server.store.models_alerts import MaintenanceWindow

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store import Store

__all__ = ["HealService", "router", "start", "stop"]


async def start(
    store: Store,
    audit: AuditLog,
    fleet: Fleet,
    alerts: AlertService,
    stacks: StackService,
    clock: Clock,
    loops: LoopRegistry,
) -> HealService:
    """Load the policies and tracks, follow the fleet's hub, start the healer's loop."""
    repo = HealRepository(store)

    async def maintenance() -> dict[str, str]:
        now = clock.now()
        rows = await alerts.repo.periods(MaintenanceWindow)
        return {
            r.environment: r.reason or "maintenance"
            for r in rows
            if is_active(r.starts_at, r.ends_at, now)
        }

    healer = Healer(
        fleet, repo, audit, alerts.report_event, stacks.deploying, maintenance, clock,
        compose_files=stacks.compose_texts,
    )  # fmt: skip
    await healer.load()
    loops.add(healer.loop)
    healer.start()
    return HealService(healer, repo, fleet, audit)


async def stop(service: HealService) -> None:
    """Stop the healer (its loop, timer and restarts in flight)."""
    await service.healer.stop()
