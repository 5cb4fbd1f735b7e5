"""``/api/v1/logs``: fleet-wide log search, the live merged tail, and the store's figures."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from fleetdeck.server.auth.deps import Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import Ctx, context_of  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.logs.query import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    LogQuery,
    ns_to_iso,
    parse_when,
    search,
)
from fleetdeck.server.openapi import NdjsonStream
from fleetdeck.server.params import Offset  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.wire.logs import LogHit, LogSearchResult, LogStoreStats

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from fleetdeck.server.logs.collector import LogCollector

router = APIRouter(tags=["logs"])

#: Seconds between keep-alive newlines on a quiet tail (clients skip empty lines).
TAIL_KEEPALIVE_S = 5.0
MAX_BACKLOG = 1000


def collector_of(request: Request) -> LogCollector:
    """The server's log collector."""
    collector: LogCollector = context_of(request).logs
    return collector


def build_query(
    *,
    q: str,
    raw: bool,
    environment: str | None,
    node: str | None,
    container: list[str] | None,
    stack: str | None,
    service: str | None,
    stream: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
    now: datetime,
) -> LogQuery:
    """A validated query from request parameters (InvalidInputError names what is wrong).

    ``now`` is the present that relative times (``since=15m``) count back from.
    """
    return LogQuery(
        text=q,
        raw=raw,
        environment=environment or None,
        node=node or None,
        containers=[c for c in (container or []) if c],
        stack=stack or None,
        service=service or None,
        stream=stream or None,
        since=parse_when(since, "since", now),
        until=parse_when(until, "until", now),
        limit=limit,
        offset=offset,
    ).validate()


Text = Annotated[str, Query(description="words that must all occur (or FTS5 with raw)")]
Raw = Annotated[bool, Query(description="treat q as an FTS5 expression")]
Containers = Annotated[list[str] | None, Query(description="container name or id prefix")]
When = Annotated[str | None, Query(description="ISO 8601, epoch seconds, or ago: 15m, 2h, 7d")]


@router.get("/logs/search")
async def logs_search(
    request: Request,
    ctx: Ctx,
    _: Viewer,
    q: Text = "",
    raw: Raw = False,
    environment: str | None = None,
    node: str | None = None,
    container: Containers = None,
    stack: str | None = None,
    service: str | None = None,
    stream: str | None = None,
    since: When = None,
    until: When = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> LogSearchResult:
    """Stored lines of every node matching the text and filters, newest first."""
    query = build_query(
        q=q, raw=raw, environment=environment, node=node, container=container, stack=stack,
        service=service, stream=stream, since=since, until=until, limit=limit, offset=offset,
        now=ctx.clock.now(),
    )  # fmt: skip
    hits, more = await asyncio.to_thread(search, collector_of(request).store, query)
    return LogSearchResult(
        items=[LogHit(**hit) for hit in hits],
        next_offset=query.offset + len(hits) if more else None,
    )


@router.get("/logs/tail", response_class=NdjsonStream)
async def logs_tail(
    request: Request,
    ctx: Ctx,
    _: Viewer,
    q: Text = "",
    environment: str | None = None,
    node: str | None = None,
    container: Containers = None,
    stack: str | None = None,
    service: str | None = None,
    stream: str | None = None,
    backlog: Annotated[
        int, Query(ge=0, le=MAX_BACKLOG, description="stored lines to show first")
    ] = 10,
) -> StreamingResponse:
    """NDJSON: the last ``backlog`` stored lines, then new lines of every node as they come.

    Filters as for search (``container`` may repeat); lines of several containers are merged
    in arrival order. A ``{"dropped": N}`` object says the client was too slow for N lines.
    """
    query = build_query(
        q=q, raw=False, environment=environment, node=node, container=container, stack=stack,
        service=service, stream=stream, since=None, until=None, limit=max(backlog, 1), offset=0,
        now=ctx.clock.now(),
    )  # fmt: skip
    collector = collector_of(request)
    follower = collector.hub.follow(query)
    hits: list[dict[str, Any]] = []
    if backlog:
        hits, _more = await asyncio.to_thread(search, collector.store, query)
    newest = {hit["container_id"]: hit["time"] for hit in hits}

    async def relay() -> AsyncIterator[bytes]:
        try:
            for hit in reversed(hits):
                yield _line(hit)
            reported = 0
            while True:
                try:
                    hit = await asyncio.wait_for(follower.queue.get(), TAIL_KEEPALIVE_S)
                except TimeoutError:
                    yield b"\n"
                    continue
                if hit["time"] <= newest.get(hit["container_id"], ""):
                    continue  # already sent from the store
                yield _line(hit)
                if follower.dropped > reported:
                    yield _line({"dropped": follower.dropped - reported})
                    reported = follower.dropped
        finally:
            collector.hub.unfollow(follower)

    return StreamingResponse(relay(), media_type="application/x-ndjson")


def _line(obj: dict[str, Any]) -> bytes:
    out = {k: v for k, v in obj.items() if k not in ("marks",)}
    return json.dumps(out, separators=(",", ":")).encode() + b"\n"


@router.get("/logs/stats")
async def logs_stats(request: Request, _: Viewer) -> LogStoreStats:
    """Lines and bytes stored, oldest and newest line, lines dropped by agents, per node."""
    collector = collector_of(request)
    stats = await asyncio.to_thread(collector.store.stats)
    # The times go through their ISO text, as the store's lines do (microseconds, UTC).
    return LogStoreStats.model_validate(
        {
            "lines": stats["lines"],
            "bytes": stats["bytes"],
            "oldest": ns_to_iso(stats["oldest_ns"]) if stats["oldest_ns"] else None,
            "newest": ns_to_iso(stats["newest_ns"]) if stats["newest_ns"] else None,
            "sources": stats["sources"],
            "dropped": stats["dropped"],
            "retention_days": collector.retention_s / 86400.0,
            "max_bytes": collector.max_bytes,
            "nodes": collector.nodes,
            "last_pruned": (
                ns_to_iso(collector.last_pruned_ns) if collector.last_pruned_ns else None
            ),
        }
    )
