"""``GET /api/v1/events``: the inventory's changes as server-sent events, for live pages.

Every open page of the web UI keeps one of these streams. Each event says that the fleet
changed (``version``) and carries the dashboard's summary (counts by state and health, node
statuses), so the dashboard can update its tiles at once and any page can refetch the
fragment it shows. Nothing is sent per container: a page with thousands of rows refetches
one server-filtered page instead of replaying deltas.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from fleetdeck.server.auth.deps import Viewer  # noqa: TC001 - FastAPI reads it at run time
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.openapi import EventStream

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from fleetdeck.server.fleet.inventory import FleetInventory
    from fleetdeck.server.fleet.service import Fleet

router = APIRouter(tags=["events"])

#: A comment line this often keeps proxies and the browser from closing an idle stream.
KEEPALIVE_S = 15.0
#: Changes closer together than this are sent as one event (a burst of 300 upserts is one).
COALESCE_S = 0.15
#: Tells the browser's EventSource how soon to reconnect after the stream drops.
RETRY_MS = 2000


def fleet_summary(fleet: Fleet) -> dict[str, Any]:
    """What the dashboard shows at a glance: counts and every node's status."""
    states: Counter[str] = Counter()
    health: Counter[str] = Counter()
    for node in fleet.inventory.nodes():
        for container in node.containers.values():
            states[container.state] += 1
            health[container.health or "none"] += 1
    nodes = [
        {
            "environment": env.name,
            "node": n.name,
            "status": n.status,
            "last_seen": n.last_seen.isoformat() if n.last_seen else None,
            "containers": n.containers,
        }
        for env in fleet.views()
        for n in env.nodes
    ]
    return {
        "containers": sum(states.values()),
        "states": dict(states),
        "health": dict(health),
        "environments": len(fleet.views()),
        "nodes": nodes,
    }


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    """One server-sent event in the wire format (``data`` as one JSON line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def inventory_events(
    inventory: FleetInventory,
    payload: Callable[[int], dict[str, Any]],
    disconnected: Callable[[], Awaitable[bool]],
    keepalive: float = KEEPALIVE_S,
    coalesce: float = COALESCE_S,
) -> AsyncIterator[str]:
    """Yield an ``inventory`` event now and after every change, until the client leaves.

    Args:
        inventory: Whose ``version`` is followed.
        payload: Builds an event's data for a version.
        disconnected: Whether the client went away (checked between events).
        keepalive: Seconds of quiet after which a comment line is sent.
        coalesce: Pause after each event so that a burst of changes becomes one event.
    """
    yield f"retry: {RETRY_MS}\n\n"
    sent = -1
    while not await disconnected():
        version = await inventory.wait_changed(sent, keepalive)
        if version == sent:
            yield ": keepalive\n\n"
            continue
        sent = version
        yield sse("inventory", payload(version), version)
        await asyncio.sleep(coalesce)


@router.get("/events", response_class=EventStream)
async def events(request: Request, ctx: Ctx, _: Viewer) -> StreamingResponse:
    """Stream ``inventory`` events (``version`` and ``summary``) as ``text/event-stream``."""
    fleet: Fleet = ctx.fleet

    def payload(version: int) -> dict[str, Any]:
        return {"version": version, "summary": fleet_summary(fleet)}

    return StreamingResponse(
        inventory_events(fleet.inventory, payload, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
