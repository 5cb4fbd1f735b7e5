"""ContainerInventory's bookkeeping against a fake engine: diffs, revs, subscribers, engine down."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.agent.inventory import ContainerInventory
from fleetdeck.errors import NodeUnreachableError
from fleetdeck.wire.containers import EngineContainer
from fleetdeck.wire.fleet import AgentInfo

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def container(cid: str, state: str = "running", status: str = "Up") -> EngineContainer:
    return EngineContainer(
        id=cid, name=cid, image="img", state=state, status=status, created=datetime.now(UTC)
    )


class FakeEngine:
    """An engine whose containers, events and liveness the test controls."""

    docker_host = "unix:///fake.sock"

    def __init__(self) -> None:
        self.held: dict[str, EngineContainer] = {}
        self.events_queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.up = True

    async def ping(self) -> None:
        """Answer unless down."""
        if not self.up:
            raise NodeUnreachableError("down")

    async def agent_info(self) -> AgentInfo:
        """Info, if up."""
        await self.ping()
        return AgentInfo(hostname="fake", engine_version="1")

    async def list_containers(self) -> list[EngineContainer]:
        """Every held container, if up."""
        await self.ping()
        return list(self.held.values())

    async def container(self, ref: str) -> EngineContainer | None:
        """One container, or None."""
        return self.held.get(ref)

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """The queued events, until None."""
        await self.ping()

        async def read() -> AsyncIterator[dict[str, Any]]:
            while (event := await self.events_queue.get()) is not None:
                yield event

        yield read()


async def _messages(sub_queue: asyncio.Queue[bytes | None]) -> list[dict[str, Any]]:
    await asyncio.sleep(0.05)
    out = []
    while not sub_queue.empty():
        item = sub_queue.get_nowait()
        if item is not None:
            out.append(json.loads(item))
    return out


async def test_events_and_resync_emit_only_changes_with_growing_revs() -> None:
    engine = FakeEngine()
    engine.held["a"] = container("a")
    inventory = ContainerInventory(engine, heartbeat_interval=3600)
    await inventory.start()
    try:
        sub = inventory.subscribe()
        engine.held["b"] = container("b")
        await engine.events_queue.put({"Type": "container", "Action": "start", "id": "b"})
        await engine.events_queue.put({"Type": "container", "Action": "exec_start: sh", "id": "a"})
        del engine.held["a"]
        engine.held["b"] = container("b", status="Up 2 minutes")  # clock-only change
        await asyncio.sleep(0.05)
        await inventory.resync()
        messages = await _messages(sub.queue)
        assert [m["type"] for m in messages] == ["snapshot", "upsert", "delete"]
        assert messages[0]["containers"][0]["id"] == "a"
        assert (messages[1]["container"]["id"], messages[2]["id"]) == ("b", "a")
        revs = [m["rev"] for m in messages]
        assert revs == sorted(set(revs))
        assert inventory.snapshot()["containers"][0]["status"] == "Up 2 minutes"
    finally:
        await inventory.stop()


async def test_a_slow_subscriber_is_disconnected_not_waited_for() -> None:
    engine = FakeEngine()
    inventory = ContainerInventory(engine, heartbeat_interval=0.001, queue_size=5)
    await inventory.start()
    try:
        slow = inventory.subscribe()
        await asyncio.sleep(0.2)
        assert slow.overflowed
        assert inventory.subscriber_count == 0
        assert [line async for line in slow.lines()] == []
    finally:
        await inventory.stop()


async def test_engine_down_then_up_is_reported_as_info() -> None:
    engine = FakeEngine()
    inventory = ContainerInventory(engine, heartbeat_interval=3600)
    await inventory.start()
    try:
        sub = inventory.subscribe()
        engine.up = False
        await engine.events_queue.put(None)  # the stream breaks
        await asyncio.sleep(0.1)
        assert inventory.info.engine_state == "down"
        engine.up = True
        engine.held["c"] = container("c")
        for _ in range(100):
            if inventory.info.engine_state == "up" and "c" in inventory.containers:
                break
            await asyncio.sleep(0.05)
        messages = await _messages(sub.queue)
        states = [m["info"]["engine_state"] for m in messages if m["type"] == "info"]
        assert states == ["down", "up"]
        assert any(m["type"] == "upsert" and m["container"]["id"] == "c" for m in messages)
    finally:
        await inventory.stop()
