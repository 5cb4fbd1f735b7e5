"""Server backups: an online snapshot of everything the server owns, written by restic.

``staging`` (the consistent copy of the data dir), ``restic`` (the tool), ``targets``
(directory / SFTP / S3 and their credentials), ``repository`` (the tables), ``service``
(:class:`BackupService`: create, verify, retention, schedule), ``api`` (the routes) and
``restore`` (``fleetdeck server restore``, offline). :func:`start` builds the service and its
schedule loop ``backup-schedule``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.backups.api import router
from fleetdeck.server.backups.repository import BackupRepository
from fleetdeck.server.backups.service import BackupService
from fleetdeck.server.loops import BackgroundLoop

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.store import Store

__all__ = ["BackupService", "router", "start", "stop"]

#: Seconds between two looks at the schedule (a due backup starts within this).
SCHEDULE_CHECK_S = 60.0


async def start(
    settings: ServerSettings,
    store: Store,
    secrets: SecretBox,
    alerts: AlertService,
    clock: Clock,
    loops: LoopRegistry,
) -> BackupService:
    """Mark runs a stop interrupted, then run the schedule loop."""
    service = BackupService(settings, BackupRepository(store), secrets, clock, alerts)
    await service.start()
    loop = BackgroundLoop(
        "backup-schedule", step=service.scheduled_step, interval=SCHEDULE_CHECK_S, clock=clock
    )
    service.loop = loop
    loops.start(loop)
    return service


async def stop(service: BackupService) -> None:
    """Stop the schedule loop (a backup in progress is abandoned: never counted as good)."""
    if service.loop is not None:
        await service.loop.stop()
