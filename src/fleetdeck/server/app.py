"""The server's ASGI application: :func:`create_app` and its lifespan.

Start-up order matters and is the same on every start: schema migrations (with a backup of
an older SQLite database), the store, the CA and server certificate, the master key, the
first admin account, then the fleet part (which needs all of those). Shutdown runs in
reverse. What the lifespan puts on ``app.state`` is the server's internal interface:

=========================  ===============================================================
``settings``               :class:`~fleetdeck.server.config.ServerSettings`
``store``                  :class:`~fleetdeck.server.store.Store` (async SQLAlchemy)
``audit``                  :class:`~fleetdeck.server.audit.AuditLog`
``ca``                     :class:`~fleetdeck.pki.CertificateAuthority`
``tls``                    :class:`~fleetdeck.server.tls.ServerTLS` (paths)
``secrets``                :class:`~fleetdeck.server.secrets.SecretBox`
``login_limiter``          :class:`~fleetdeck.server.auth.ratelimit.LoginRateLimiter`
``registry_auth_for``      ``async (image_ref) -> {"username","password","serveraddress"} | None``
``alerts``                 :class:`~fleetdeck.server.alerts.AlertService` (``report_event``)
``migration_backup``       the backup file made before migrating, or None
``stacks``                 :class:`~fleetdeck.server.stacks.service.StackService`
``clock``                  :class:`~fleetdeck.clock.Clock`, the present of every part
``metrics_latest``         :class:`~fleetdeck.server.metrics.latest.LatestSamples`
``loops``                  :class:`~fleetdeck.server.loops.LoopRegistry`, every background loop
=========================  ===============================================================
"""

from __future__ import annotations

import functools
import logging
import sys
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from fleetdeck import __version__
from fleetdeck.clock import SYSTEM
from fleetdeck.server import alerts, fleet, logs, metrics, registries, stacks, ui
from fleetdeck.server.audit import AuditLog
from fleetdeck.server.auth.ratelimit import LoginRateLimiter
from fleetdeck.server.auth.users import ADMIN_USERNAME, ensure_admin
from fleetdeck.server.body_limits import BodyLimitMiddleware
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

    from fleetdeck.clock import Clock
    from fleetdeck.server.config import ServerSettings

log = logging.getLogger(__name__)


async def _open(app: FastAPI, settings: ServerSettings) -> Store:
    """Everything before the fleet starts; returns the store to close at shutdown."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)  # the CA key, master key and database live here
    store = Store(settings.db_url, busy_timeout_s=settings.db_busy_timeout_s)
    try:
        app.state.migration_backup = await migrate(store)
        app.state.store = store
        app.state.audit = AuditLog(store, app.state.clock)
        app.state.ca, app.state.tls = prepare_tls(settings)
        app.state.secrets = SecretBox(load_master_key(settings))
        app.state.login_limiter = LoginRateLimiter(
            settings.login_max_failures, settings.login_max_failures_per_address
        )
        app.state.registry_auth_for = functools.partial(registries.registry_auth_for, app)
        created, generated = await ensure_admin(store, settings.first_admin_password())
    except BaseException:
        await store.close()
        raise
    if generated is not None:
        # Shown once, on the first start only: the operator must note it now.
        print(f"admin password: {generated}", file=sys.stderr, flush=True)
    if created:
        await app.state.audit.record("system", "user.create", ADMIN_USERNAME, "ok", None)
    return store


def create_app(settings: ServerSettings, clock: Clock = SYSTEM) -> FastAPI:
    """The fleetdeck server application for ``settings``; ``clock`` is its present."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await _open(app, settings)
        try:
            await fleet.start(app)
            await metrics.start(app)
            await logs.start(app)
            await alerts.start(app)
            await stacks.start(app)
            try:
                yield
            finally:
                await stacks.stop(app)
                await alerts.stop(app)
                await logs.stop(app)
                await metrics.stop(app)
                await fleet.stop(app)
        finally:
            await app.state.loops.stop()  # any loop a part left running (or a failed start's)
            await store.close()

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
    app.state.settings = settings
    app.state.clock = clock
    # Before the lifespan: parts register their loops on start; tests can add their own.
    app.state.loops = LoopRegistry()
    install_error_handlers(app)
    # Bodies are capped before any route reads or authenticates them; the security headers
    # (added last, so outermost) go on every answer, the body limit's 413 included.
    app.add_middleware(BodyLimitMiddleware)
    install_security_headers(app)
    app.include_router(openapi.router)
    for module in (health, ca, auth, users, tokens, audit, registries, events, console):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(fleet.router, prefix=API_PREFIX)
    app.include_router(metrics.router, prefix=API_PREFIX)
    app.include_router(logs.router, prefix=API_PREFIX)
    app.include_router(stacks.router, prefix=API_PREFIX)
    app.include_router(stacks.environment_router, prefix=API_PREFIX)
    app.include_router(alerts.router, prefix=API_PREFIX)
    app.include_router(metrics.prometheus_router)  # /metrics and /api/v1/prometheus/targets
    ui.install(app)  # the web UI at / (pages, static files, change feed)
    install_openapi(app)  # error responses and streaming media types, as routes answer
    return app
