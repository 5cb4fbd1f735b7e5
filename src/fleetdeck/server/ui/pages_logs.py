"""The Logs page: search every node's stored lines (matches highlighted) and follow a live tail.

The search runs on the server with the same query model as ``GET /api/v1/logs/search`` (a
bad query is shown on the page, not answered with an error page); the live tail is read by
``static/logs.js`` from ``GET /api/v1/logs/tail`` with the form's filters.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from fleetdeck.errors import FleetdeckError
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.logs.api import build_query
from fleetdeck.server.logs.query import DEFAULT_LIMIT, ns_to_iso, search
from fleetdeck.server.ui.web import PageUser, render

if TYPE_CHECKING:
    from starlette.responses import Response

    from fleetdeck.server.logs.collector import LogCollector

router = APIRouter(include_in_schema=False)

#: Form fields passed through to the search and the tail.
FIELDS = ("q", "environment", "node", "container", "stack", "service", "stream", "since", "until")


def segments(line: str, marks: list[list[int]]) -> list[tuple[str, bool]]:
    """A line cut into (text, matched) pieces for highlighting (the template escapes them)."""
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in marks:
        if start > at:
            out.append((line[at:start], False))
        out.append((line[start:end], True))
        at = end
    if at < len(line):
        out.append((line[at:], False))
    return out


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return -1  # rejected with a clear message by the query's validation


async def _results(collector: LogCollector, params: dict[str, str]) -> dict[str, Any]:
    if not any(params.get(name) for name in FIELDS):
        return {"hits": None, "error": None, "next_offset": None}
    try:
        query = build_query(
            q=params.get("q", ""),
            raw=params.get("raw") == "on",
            environment=params.get("environment"),
            node=params.get("node"),
            container=[params["container"]] if params.get("container") else None,
            stack=params.get("stack"),
            service=params.get("service"),
            stream=params.get("stream"),
            since=params.get("since"),
            until=params.get("until"),
            limit=_int(params.get("limit"), DEFAULT_LIMIT),
            offset=_int(params.get("offset"), 0),
            now=collector.clock.now(),
        )
        hits, more = await asyncio.to_thread(search, collector.store, query)
    except FleetdeckError as exc:
        return {"hits": None, "error": exc.message, "next_offset": None}
    for hit in hits:
        hit["segments"] = segments(hit["line"], hit["marks"])
    return {"hits": hits, "error": None, "next_offset": query.offset + len(hits) if more else None}


@router.get("/logs")
async def logs_page(request: Request, ctx: Ctx, who: PageUser) -> Response:
    """Search form with filters, highlighted results, paging, store figures and a live tail."""
    collector: LogCollector = ctx.logs
    params = dict(request.query_params)
    stats = await asyncio.to_thread(collector.store.stats)
    inventory = ctx.fleet.inventory
    context = await _results(collector, params)
    older = None
    if context["next_offset"] is not None:
        older = request.url.include_query_params(offset=context["next_offset"])
    return render(
        request,
        who,
        "logs.html",
        params=params,
        environments=sorted({n.environment for n in inventory.nodes()}),
        stats=stats,
        oldest=ns_to_iso(stats["oldest_ns"]) if stats["oldest_ns"] else None,
        older=str(older) if older else None,
        **context,
    )
