"""Volume backups: restic next to each volume, on its node, through the node's agent.

``policy`` (policies declared in Compose files and labels), ``repository`` (the tables),
``service`` (:class:`VolumeBackupService`: scope, consistency, copy, retention, restore,
schedule), ``api`` (the ``/backups/volumes`` routes). :func:`start` builds the service and its
schedule loop ``volume-backup-schedule``; the copy itself is the agent's
(``fleetdeck.agent.volume_backup``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.fleet.hub import DeployFinished
from fleetdeck.server.loops import BackgroundLoop
from fleetdeck.server.volbackups.api import router
from fleetdeck.server.volbackups.repository import VolumeBackupRepository
from fleetdeck.server.volbackups.service import VolumeBackupService

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.backups.service import BackupService
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store import Store

__all__ = ["VolumeBackupService", "router", "start", "stop"]

#: Seconds between two looks at the policies (a due backup starts within this).
SCHEDULE_CHECK_S = 30.0


async def start(
    store: Store,
    backups: BackupService,
    fleet: Fleet,
    stacks: StackService,
    secrets: SecretBox,
    alerts: AlertService,
    clock: Clock,
    loops: LoopRegistry,
) -> VolumeBackupService:
    """Mark runs a stop interrupted, follow deploys (Compose policies), run the schedule."""
    service = VolumeBackupService(
        VolumeBackupRepository(store), backups, fleet, secrets, clock, alerts, stacks.compose_texts
    )
    await service.start()

    def on_deploy(event: DeployFinished) -> None:
        if event.ok:
            service.compose_refresh.add((event.stack, event.environment))
            service.wake()

    service.subscription = fleet.hub.subscribe(DeployFinished, on_deploy)
    loop = BackgroundLoop(
        "volume-backup-schedule", step=service.scheduled_step, interval=SCHEDULE_CHECK_S,
        clock=clock,
    )  # fmt: skip
    service.loop = loop
    loops.start(loop)
    return service


async def stop(service: VolumeBackupService) -> None:
    """Stop following deploys and the schedule loop (a copy in progress is abandoned)."""
    if service.subscription is not None:
        service.fleet.hub.unsubscribe(service.subscription)
    if service.loop is not None:
        await service.loop.stop()
