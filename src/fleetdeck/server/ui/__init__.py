"""The web UI: server-rendered pages (Jinja2) with small vanilla scripts, mounted at ``/``.

:func:`install` adds the pages, the static files and the change feed (recent events) to the
app. Every action a page offers posts to the same ``/api/v1`` routes the CLI uses, with the
session cookie, so roles, validation and the audit log apply to the UI unchanged.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi.staticfiles import StaticFiles

from fleetdeck.server.ui import (
    pages,
    pages_admin,
    pages_alerts,
    pages_container,
    pages_logs,
    pages_metrics,
    stacks,
)
from fleetdeck.server.ui.changes import ChangeFeed
from fleetdeck.server.ui.web import HERE

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import FastAPI

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Mount the UI on ``app`` and run its change feed while the app runs."""
    app.include_router(pages_container.router)  # /containers/new before /containers/{ref}
    app.include_router(pages.router)
    app.include_router(pages_admin.router)
    app.include_router(stacks.router)
    app.include_router(pages_metrics.router)
    app.include_router(pages_alerts.router)
    app.include_router(pages_logs.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with inner(application) as state:
            feed = ChangeFeed(application.state.fleet.inventory)
            application.state.ui_changes = feed
            application.state.loops.start(feed.loop)
            try:
                yield state
            finally:
                await feed.stop()

    app.router.lifespan_context = lifespan
