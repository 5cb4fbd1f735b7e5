"""The live-update stream (``/api/v1/events``) and the dashboard's change feed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from fleetdeck.server.fleet.inventory import FleetInventory
from fleetdeck.server.routes.events import inventory_events, sse
from fleetdeck.server.ui.changes import ChangeFeed


def container(
    cid: str, name: str, state: str = "running", health: str | None = None
) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "image": "reg/web:1",
        "state": state,
        "health": health,
        "created": datetime.now(UTC).isoformat(),
    }


def snapshot(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"type": "snapshot", "rev": 1, "info": {"hostname": "h"}, "containers": list(containers)}


def data_of(event: str) -> dict[str, Any]:
    line = next(x for x in event.splitlines() if x.startswith("data: "))
    parsed: dict[str, Any] = json.loads(line[len("data: ") :])
    return parsed


def test_an_event_is_named_numbered_and_carries_one_json_line() -> None:
    text = sse("inventory", {"version": 3}, 3)
    assert text == 'id: 3\nevent: inventory\ndata: {"version":3}\n\n'


async def test_the_stream_sends_the_state_at_once_then_every_change() -> None:
    inventory = FleetInventory()
    gone = False

    async def disconnected() -> bool:
        return gone

    stream = inventory_events(
        inventory, lambda v: {"version": v}, disconnected, keepalive=5, coalesce=0
    )
    assert (await anext(stream)).startswith("retry: ")
    assert data_of(await anext(stream)) == {"version": 0}
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)
    assert not pending.done()  # nothing changed: nothing sent
    inventory.apply("env1", "node1", snapshot(container("c1", "web1")))
    event = await asyncio.wait_for(pending, 2)
    assert "event: inventory" in event and data_of(event)["version"] == inventory.version
    gone = True
    inventory.apply("env1", "node1", {"type": "delete", "rev": 2, "id": "c1"})
    remaining = [e async for e in stream]
    assert all("event:" not in e for e in remaining[1:])


async def test_a_quiet_stream_sends_keepalive_comments() -> None:
    inventory = FleetInventory()
    calls = 0

    async def disconnected() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3

    events = [
        e
        async for e in inventory_events(
            inventory, lambda v: {"version": v}, disconnected, keepalive=0.01, coalesce=0
        )
    ]
    assert events[2:] == [": keepalive\n\n", ": keepalive\n\n"]


def test_the_change_feed_reports_state_and_health_changes_but_not_a_reconnect_flood() -> None:
    inventory = FleetInventory()
    feed = ChangeFeed(inventory)
    inventory.apply("e", "n1", snapshot(*(container(f"c{i}", f"app{i}") for i in range(30))))
    feed.observe()
    texts = [c.text for c in feed.recent(50)]
    assert texts == ["node up (30 containers)"]
    inventory.apply(
        "e", "n1", {"type": "upsert", "rev": 2, "container": container("c1", "app1", "exited")}
    )
    inventory.apply(
        "e",
        "n1",
        {"type": "upsert", "rev": 3, "container": container("c2", "app2", health="unhealthy")},
    )
    inventory.apply("e", "n1", {"type": "delete", "rev": 4, "id": "c3"})
    feed.observe()
    recent = {c.text: c for c in feed.recent(50)}
    assert recent["app1: running → exited"].level == "warn"
    assert recent["app1: running → exited"].ref == "e/n1/app1"
    assert recent["app2: no health → unhealthy"].level == "bad"
    assert "app3 removed" in recent
    inventory.mark_unreachable("e", "n1", "no answer")
    feed.observe()
    assert feed.recent(1)[0].text == "node unreachable (29 containers)"
