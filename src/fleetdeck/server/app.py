"""The server's ASGI application: :func:`create_app` and its lifespan.

Start-up order matters and is the same on every start: schema migrations (with a backup of
an older SQLite database), the store, the CA and server certificate, the master key, the
first admin account, then the fleet part (which needs all of those). Shutdown runs in
reverse (a part that fails to start stops those started before it). What the lifespan
builds is one :class:`~fleetdeck.server.context.ServerContext` (``app.state.context``, the
only ``app.state`` entry handlers reach, through the dependencies in
:mod:`fleetdeck.server.context`): the server's internal interface.
"""

from __future__ import annotations

import functools
import logging
import sys
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI

from fleetdeck import __version__
from fleetdeck.clock import SYSTEM
from fleetdeck.server import (
    agent_upgrade,
    alerts,
    autoscale,
    backups,
    drift,
    fleet,
    gitops,
    heal,
    install,
    logs,
    metrics,
    registries,
    stacks,
    ui,
    updates,
    volbackups,
)
from fleetdeck.server.audit import AuditLog
from fleetdeck.server.auth.ratelimit import LoginRateLimiter
from fleetdeck.server.auth.users import ADMIN_USERNAME, ensure_admin
from fleetdeck.server.body_limits import BodyLimitMiddleware
from fleetdeck.server.context import ServerContext
from fleetdeck.server.forwarded import ForwardedMiddleware, parse_networks
from fleetdeck.server.handlers import install_error_handlers
from fleetdeck.server.headers import install_security_headers
from fleetdeck.server.loops import LoopRegistry
from fleetdeck.server.openapi import install_openapi
from fleetdeck.server.routes import (
    API_PREFIX,
    audit,
    auth,
    ca,
    console,
    events,
    health,
    openapi,
    tokens,
    users,
)
from fleetdeck.server.secrets import SecretBox, load_master_key
from fleetdeck.server.store import Store
from fleetdeck.server.store.migrate import migrate
from fleetdeck.server.tls import prepare_tls

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from fleetdeck.clock import Clock
    from fleetdeck.pki import CertificateAuthority
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.tls import ServerTLS

log = logging.getLogger(__name__)


@dataclass
class _Core:
    """What :func:`_open` makes before any part starts."""

    store: Store
    audit: AuditLog
    ca: CertificateAuthority
    tls: ServerTLS
    secrets: SecretBox
    login_limiter: LoginRateLimiter
    migration_backup: Path | None


async def _open(settings: ServerSettings, clock: Clock) -> _Core:
    """Everything before the fleet starts (the caller closes the store at shutdown)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)  # the CA key, master key and database live here
    store = Store(settings.db_url, busy_timeout_s=settings.db_busy_timeout_s)
    try:
        backup = await migrate(store)
        ca, tls = prepare_tls(settings)
        core = _Core(
            store=store,
            audit=AuditLog(store, clock),
            ca=ca,
            tls=tls,
            secrets=SecretBox(load_master_key(settings)),
            login_limiter=LoginRateLimiter(
                settings.login_max_failures, settings.login_max_failures_per_address
            ),
            migration_backup=backup,
        )
        created, generated = await ensure_admin(store, settings.first_admin_password())
    except BaseException:
        await store.close()
        raise
    if generated is not None:
        # Shown once, on the first start only: the operator must note it now.
        print(f"admin password: {generated}", file=sys.stderr, flush=True)
    if created:
        await core.audit.record("system", "user.create", ADMIN_USERNAME, "ok", None)
    return core


async def _start(
    app: FastAPI, settings: ServerSettings, clock: Clock, loops: LoopRegistry, exits: AsyncExitStack
) -> ServerContext:
    """Start every part in order (each one's stop pushed on ``exits``); build the context."""
    core = await _open(settings, clock)
    exits.push_async_callback(core.store.close)
    # Then (so before the store closes) any loop a part left running, or a failed start's.
    exits.push_async_callback(loops.stop)
    the_fleet = await fleet.start(settings, core.store, core.ca, core.tls, clock, loops)
    exits.push_async_callback(fleet.stop, the_fleet)
    the_metrics = await metrics.start(settings, core.store, the_fleet, clock, loops)
    exits.push_async_callback(metrics.stop, the_metrics)
    the_logs = await logs.start(settings, the_fleet, clock, loops)
    exits.push_async_callback(logs.stop, the_logs)
    the_alerts = await alerts.start(settings, core.store, core.secrets, the_fleet, clock, loops)
    exits.push_async_callback(alerts.stop, the_alerts, the_fleet)
    registry_auth_for = functools.partial(registries.registry_auth_for, app)
    the_stacks = await stacks.start(
        settings, core.store, core.secrets, the_fleet, registry_auth_for, the_alerts, loops
    )
    exits.push_async_callback(stacks.stop)
    the_backups = await backups.start(settings, core.store, core.secrets, the_alerts, clock, loops)
    exits.push_async_callback(backups.stop, the_backups)
    the_volume_backups = await volbackups.start(
        core.store, the_backups, the_fleet, the_stacks, core.secrets, the_alerts, clock, loops
    )
    exits.push_async_callback(volbackups.stop, the_volume_backups)
    the_heal = await heal.start(
        core.store, core.audit, the_fleet, the_alerts, the_stacks, clock, loops
    )
    exits.push_async_callback(heal.stop, the_heal)
    the_drift = await drift.start(core.store, core.audit, the_alerts, the_stacks, clock, loops)
    exits.push_async_callback(drift.stop, the_drift)
    the_gitops = await gitops.start(
        settings, core.store, core.secrets, core.audit, the_alerts, the_stacks, loops
    )
    exits.push_async_callback(gitops.stop, the_gitops)
    the_autoscaler = autoscale.start(
        settings, core.store, the_stacks, the_fleet, the_metrics.latest, core.audit, clock, loops,
        report_event=the_alerts.report_event,
    )  # fmt: skip

    async def registry_service() -> registries.RegistryService:
        return registries.service_of(app)

    the_updates = await updates.start(
        settings, core.store, core.audit, the_stacks, the_alerts, registry_service, clock, loops
    )
    exits.push_async_callback(updates.stop, the_updates)
    changes = ui.start(the_fleet.inventory, loops)
    exits.push_async_callback(ui.stop, changes)
    return ServerContext(
        settings=settings,
        clock=clock,
        loops=loops,
        store=core.store,
        audit=core.audit,
        ca=core.ca,
        tls=core.tls,
        secrets=core.secrets,
        login_limiter=core.login_limiter,
        registry_auth_for=registry_auth_for,
        fleet=the_fleet,
        metrics=the_metrics.writer,
        metrics_retention=the_metrics.retention,
        metrics_latest=the_metrics.latest,
        prometheus_registry=the_metrics.prometheus_registry,
        logs=the_logs,
        alerts=the_alerts,
        stacks=the_stacks,
        backups=the_backups,
        volume_backups=the_volume_backups,
        heal=the_heal,
        updates=the_updates,
        drift=the_drift,
        gitops=the_gitops,
        ui_changes=changes,
        migration_backup=core.migration_backup,
        autoscaler=the_autoscaler,
    )


def create_app(settings: ServerSettings, clock: Clock = SYSTEM) -> FastAPI:
    """The fleetdeck server application for ``settings``; ``clock`` is its present."""
    # Before the lifespan: parts register their loops on start; tests can add their own.
    loops = LoopRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as exits:  # stops the parts in reverse, a failed start too
            context = await _start(app, settings, clock, loops, exits)
            app.state.context = context
            yield

    app = FastAPI(
        title="fleetdeck",
        version=__version__,
        lifespan=lifespan,
        # The OpenAPI document is served by routes.openapi, behind a login; no Swagger UI
        # (FastAPI's loads from a CDN: blank on a LAN-only server).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    # Bodies are capped before any route reads or authenticates them; the security headers
    # (added last, so outermost) go on every answer, the body limit's 413 included.
    app.add_middleware(BodyLimitMiddleware)
    install_security_headers(app)
    if settings.forwarded_allow_ips:
        # Outermost: every part (HSTS above included) sees the client and scheme it believes.
        app.add_middleware(
            ForwardedMiddleware, trusted=parse_networks(settings.forwarded_allow_ips)
        )
    app.include_router(openapi.router)
    for module in (health, ca, auth, users, tokens, audit, registries, events, console):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(fleet.router, prefix=API_PREFIX)
    app.include_router(metrics.router, prefix=API_PREFIX)
    app.include_router(logs.router, prefix=API_PREFIX)
    app.include_router(stacks.router, prefix=API_PREFIX)
    app.include_router(stacks.environment_router, prefix=API_PREFIX)
    app.include_router(autoscale.router, prefix=API_PREFIX)
    app.include_router(alerts.router, prefix=API_PREFIX)
    app.include_router(backups.router, prefix=API_PREFIX)
    app.include_router(volbackups.router, prefix=API_PREFIX)
    app.include_router(heal.router, prefix=API_PREFIX)
    app.include_router(updates.router, prefix=API_PREFIX)
    app.include_router(drift.router, prefix=API_PREFIX)
    app.include_router(gitops.router, prefix=API_PREFIX)
    app.include_router(agent_upgrade.router, prefix=API_PREFIX)
    app.include_router(metrics.prometheus_router)  # /metrics and /api/v1/prometheus/targets
    app.include_router(install.router)  # /install/: the agent's distribution (no login)
    ui.install(app)  # the web UI at / (pages, static files; the lifespan runs its change feed)
    install_openapi(app)  # error responses and streaming media types, as routes answer
    return app
