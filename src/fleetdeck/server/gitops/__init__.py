"""Stacks from Git: repositories, stack sources, polling and signed webhooks (docs/gitops.md).

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
stacks and alerting parts (a sync deploys through the one and alerts through the other) and
:func:`stop` before them. :func:`start` returns the
:class:`~fleetdeck.server.gitops.service.GitOpsService` (``ServerContext.gitops``).

Modules: ``git`` (the git CLI, bounded), ``checkout`` (a repository's cache working copy and
reading a stack from it), ``webhooks`` (signatures, replays), ``sources`` (the source model),
``repository``, ``service`` (syncs and the ``gitops-sync`` loop) and the routes ``api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.gitops.api import router
from fleetdeck.server.gitops.repository import GitOpsRepository
from fleetdeck.server.gitops.service import GitOpsService

if TYPE_CHECKING:
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store import Store

__all__ = ["GitOpsService", "router", "start", "stop"]


async def start(
    settings: ServerSettings,
    store: Store,
    secrets: SecretBox,
    audit: AuditLog,
    alerts: AlertService,
    stacks: StackService,
    loops: LoopRegistry,
) -> GitOpsService:
    """Make the service and start its ``gitops-sync`` loop (every repository polled)."""
    service = GitOpsService(
        GitOpsRepository(store), secrets, stacks, audit, alerts.report_event,
        settings.data_dir, settings.gitops_poll_interval_s,
    )  # fmt: skip
    loops.start(service.loop)
    return service


async def stop(service: GitOpsService) -> None:
    """Stop the sync loop (a sync in flight is cancelled; the next start converges)."""
    await service.stop()
