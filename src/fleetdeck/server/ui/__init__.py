"""The web UI: server-rendered pages (Jinja2) with small vanilla scripts, mounted at ``/``.

:func:`install` adds the pages and the static files to the app; the lifespan runs the
change feed (recent events) with :func:`start` / :func:`stop`. Every action a page offers
posts to the same ``/api/v1`` routes the CLI uses, with the session cookie, so roles,
validation and the audit log apply to the UI unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.staticfiles import StaticFiles

from fleetdeck.server.ui import (
    pages,
    pages_admin,
    pages_alerts,
    pages_backups,
    pages_container,
    pages_gitops,
    pages_logs,
    pages_metrics,
    pages_updates,
    stacks,
)
from fleetdeck.server.ui.changes import ChangeFeed
from fleetdeck.server.ui.web import HERE

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fleetdeck.server.fleet.inventory import FleetInventory
    from fleetdeck.server.loops import LoopRegistry

__all__ = ["install", "start", "stop"]


def install(app: FastAPI) -> None:
    """Mount the UI's pages and static files on ``app`` (the lifespan runs :func:`start`)."""
    app.include_router(pages_container.router)  # /containers/new before /containers/{ref}
    app.include_router(pages.router)
    app.include_router(pages_admin.router)
    app.include_router(pages_backups.router)
    app.include_router(pages_gitops.router)
    app.include_router(stacks.router)
    app.include_router(pages_updates.router)
    app.include_router(pages_metrics.router)
    app.include_router(pages_alerts.router)
    app.include_router(pages_logs.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")


def start(inventory: FleetInventory, loops: LoopRegistry) -> ChangeFeed:
    """Start the change feed (the dashboard's recent events) over ``inventory``."""
    feed = ChangeFeed(inventory)
    loops.start(feed.loop)
    return feed


async def stop(feed: ChangeFeed) -> None:
    """Stop the change feed."""
    await feed.stop()
