"""Image updates: follow the tags stacks run, notify or deploy new digests (docs/updates.md).

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
stacks and alerting parts (the watcher deploys through one and alerts through the other),
and :func:`stop` before them. :func:`start` returns the
:class:`~fleetdeck.server.updates.service.UpdatesService` (``ServerContext.updates``).

Modules: ``references`` (image references as registries see them), ``registry`` (HEAD
requests: auth, cache, rate budget, backoff), ``policy`` (off/notify/auto, Compose's
``x-fleetdeck.updates``), ``watcher`` (the reconciler), ``repository``, ``service`` and the
routes ``api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from fleetdeck import __version__
from fleetdeck.server.registries.service import registry_host
from fleetdeck.server.updates.api import router
from fleetdeck.server.updates.registry import RegistryChecker
from fleetdeck.server.updates.repository import UpdatesRepository
from fleetdeck.server.updates.service import UpdatesService
from fleetdeck.server.updates.watcher import UpdateWatcher

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.registries.service import RegistryService
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store import Store

__all__ = ["UpdatesService", "router", "start", "stop"]


def registry_access(
    registries: Callable[[], Awaitable[RegistryService]], insecure: list[str]
) -> tuple[Callable[[str], Awaitable[dict[str, str] | None]], Callable[[str], Awaitable[bool]]]:
    """(credentials, insecure) of a registry host, from the registries part and the settings.

    A registry is spoken to over plain HTTP when the settings list it
    (``updates_insecure_registries``) or its registry entry's URL is ``http://…``.
    """
    listed = {registry_host(h) for h in insecure}

    async def credentials(host: str) -> dict[str, str] | None:
        return await (await registries()).auth_for(f"{host}/x")

    async def is_insecure(host: str) -> bool:
        if host in listed:
            return True
        rows = await (await registries()).registries()
        return any(
            registry_host(r.url) == host and r.url.strip().lower().startswith("http://")
            for r in rows
        )

    return credentials, is_insecure


async def start(
    settings: ServerSettings,
    store: Store,
    audit: AuditLog,
    stacks: StackService,
    alerts: AlertService,
    registries: Callable[[], Awaitable[RegistryService]],
    clock: Clock,
    loops: LoopRegistry,
) -> UpdatesService:
    """Start the watcher's loop (its first round after one interval or ``updates check``)."""
    repo = UpdatesRepository(store)
    credentials, insecure = registry_access(registries, settings.updates_insecure_registries)
    http = httpx.AsyncClient(
        headers={"User-Agent": f"fleetdeck/{__version__}"}, follow_redirects=False
    )
    checker = RegistryChecker(
        http, credentials, insecure, clock,
        budget=settings.updates_registry_budget, cache_s=settings.updates_interval_s / 2,
    )  # fmt: skip
    watcher = UpdateWatcher(
        stacks, repo, checker, audit, alerts.report_event, clock,
        interval=settings.updates_interval_s,
    )  # fmt: skip
    loops.start(watcher.loop)
    return UpdatesService(watcher, repo)


async def stop(service: UpdatesService) -> None:
    """Stop the watcher and close its HTTP client."""
    await service.watcher.loop.stop()
    await service.watcher.checker.http.aclose()
