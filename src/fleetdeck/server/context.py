"""The server's typed context: every service the lifespan builds, reached by dependencies.

The lifespan (:func:`fleetdeck.server.app.create_app`) builds one :class:`ServerContext`
once every part has started and stores it on the app. Handlers never look services up on
``app.state``; they declare what they need::

    @router.get("/things")
    async def things(ctx: Ctx, fleet: FleetDep) -> ...: ...

Code that has a request but is not a handler (helpers called by handlers, the
authentication dependency) uses :func:`context_of`. The services' own code is handed what it
needs through constructors and never sees the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from fastapi import FastAPI
    from prometheus_client import CollectorRegistry

    from fleetdeck.clock import Clock
    from fleetdeck.pki import CertificateAuthority
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.auth.ratelimit import LoginRateLimiter
    from fleetdeck.server.autoscale.reconciler import Autoscaler
    from fleetdeck.server.backups.service import BackupService
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.drift.service import DriftService
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.gitops.service import GitOpsService
    from fleetdeck.server.heal.service import HealService
    from fleetdeck.server.logs.collector import LogCollector
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.metrics.latest import LatestSamples
    from fleetdeck.server.metrics.retention import MetricsRetentionReconciler
    from fleetdeck.server.metrics.writer import MetricsWriter
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store import Store
    from fleetdeck.server.tls import ServerTLS
    from fleetdeck.server.ui.changes import ChangeFeed
    from fleetdeck.server.updates.service import UpdatesService
    from fleetdeck.server.volbackups.service import VolumeBackupService

    #: ``async (image_ref) -> {"username", "password", "serveraddress"} | None``.
    RegistryAuthFor = Callable[[str], Awaitable[dict[str, str] | None]]


@dataclass
class ServerContext:
    """Every service of a running server (one per app, built by its lifespan).

    Every field is set once the lifespan has started (a part that failed to start fails the
    start). Tests may swap a field (a frozen clock) on a started app.
    """

    settings: ServerSettings
    clock: Clock
    #: Every background loop (health report, ``/metrics``, stopped at shutdown).
    loops: LoopRegistry
    store: Store
    audit: AuditLog
    ca: CertificateAuthority
    tls: ServerTLS
    secrets: SecretBox
    login_limiter: LoginRateLimiter
    #: The credentials of the registry an image is pulled from, if one is configured.
    registry_auth_for: RegistryAuthFor
    fleet: Fleet
    #: The metrics writer (samples into the store).
    metrics: MetricsWriter
    metrics_retention: MetricsRetentionReconciler
    metrics_latest: LatestSamples
    prometheus_registry: CollectorRegistry
    logs: LogCollector
    alerts: AlertService
    stacks: StackService
    #: Server backups (targets, runs, schedule).
    backups: BackupService
    #: Volume backups (policies, runs, restores).
    volume_backups: VolumeBackupService
    #: Auto-heal: its status, policies, resets and history.
    heal: HealService
    #: Image updates: pending updates, checks, policies.
    updates: UpdatesService
    #: Drift: each managed stack's live state against its deployed revision.
    drift: DriftService
    #: The dashboard's recent inventory changes.
    ui_changes: ChangeFeed
    #: The backup of the database taken before this start's migrations; None when the
    #: schema was current (or the store is not SQLite) and nothing was backed up.
    migration_backup: Path | None = None
    #: The autoscaler (policies synced every ``autoscale_sync_s``).
    autoscaler: Autoscaler | None = None
    #: Stacks from Git: repositories, sources, syncs, webhooks.
    gitops: GitOpsService | None = None


def context_of(connection: HTTPConnection | FastAPI) -> ServerContext:
    """The context of the app serving ``connection`` (a request or websocket), or of an app."""
    app = connection.app if isinstance(connection, HTTPConnection) else connection
    context: ServerContext | None = getattr(app.state, "context", None)
    if context is None:
        # A wiring bug (a request before the lifespan ran): the API answers 500 internal.
        raise RuntimeError("the server has not started: no context on the app")
    return context


def get_context(connection: HTTPConnection) -> ServerContext:
    """The FastAPI dependency behind :data:`Ctx`."""
    return context_of(connection)


def get_fleet(connection: HTTPConnection) -> Fleet:
    """The FastAPI dependency behind :data:`FleetDep`."""
    return context_of(connection).fleet


def get_store(connection: HTTPConnection) -> Store:
    """The FastAPI dependency behind :data:`StoreDep`."""
    return context_of(connection).store


def get_audit(connection: HTTPConnection) -> AuditLog:
    """The FastAPI dependency behind :data:`AuditDep`."""
    return context_of(connection).audit


#: The whole context.
Ctx = Annotated[ServerContext, Depends(get_context)]
if TYPE_CHECKING:
    #: The fleet: environments, links, inventory.
    FleetDep = Annotated[Fleet, Depends(get_fleet)]
    #: The store.
    StoreDep = Annotated[Store, Depends(get_store)]
    #: The audit log.
    AuditDep = Annotated[AuditLog, Depends(get_audit)]
else:  # the services' modules are not imported at run time here (they import this one)
    FleetDep = Annotated[Any, Depends(get_fleet)]
    StoreDep = Annotated[Any, Depends(get_store)]
    AuditDep = Annotated[Any, Depends(get_audit)]
