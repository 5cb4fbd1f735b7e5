"""The log collector follows links as the fleet hub announces them (no polling of the links)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from fleetdeck.errors import NotFoundError
from fleetdeck.server.fleet.hub import EventHub, LinkAdded, LinkRemoved
from fleetdeck.server.fleet.inventory import FleetInventory
from fleetdeck.server.logs.collector import LogCollector
from fleetdeck.server.logs.store import LogStore
from fleetdeck.server.logs.tail import TailHub
from fleetdeck.server.loops import LoopRegistry
from tests.unit.server.test_loops import until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from fleetdeck.server.fleet.service import Fleet


class _Link:
    """A link whose log stream stays open and silent (the follower just waits on it).

    It is its own agent client (``link.agent``): the collector asks it for ``log_stream``.
    """

    def __init__(self, environment: str, node: str) -> None:
        self.environment, self.node = environment, node
        self.where = f"{environment}/{node}"
        self.agent = self

    async def log_stream(self, *_: Any, **__: Any) -> AsyncIterator[Any]:
        await asyncio.Event().wait()
        yield None  # never reached


class _Links:
    """What the collector uses of ``FleetLinks``, publishing as the real one does."""

    def __init__(self, inventory: FleetInventory) -> None:
        self.inventory = inventory
        self.by_key: dict[tuple[str, str], _Link] = {}

    def add(self, environment: str, node: str) -> _Link:
        link = self.by_key[(environment, node)] = _Link(environment, node)
        self.inventory.node(environment, node)
        self.inventory.hub.publish(LinkAdded(environment, node))
        return link

    def remove(self, environment: str, node: str) -> None:
        del self.by_key[(environment, node)]
        self.inventory.hub.publish(LinkRemoved(environment, node))
        self.inventory.forget(environment, node)

    def get(self, environment: str, node: str) -> _Link:
        try:
            return self.by_key[(environment, node)]
        except KeyError:
            raise NotFoundError(f"no node {node!r}") from None


class _Fleet:
    def __init__(self) -> None:
        self.hub = EventHub()
        self.inventory = FleetInventory(hub=self.hub)
        self.links = _Links(self.inventory)


def _following(loops: LoopRegistry) -> set[str]:
    running = {s.name for s in loops.statuses() if s.state == "running"}
    return {name.removeprefix("logs ") for name in running if name.startswith("logs ")}


async def test_followers_start_and_stop_with_link_events(tmp_path: Path) -> None:
    fleet = _Fleet()
    first = fleet.links.add("lab", "node1")  # linked before the collector starts
    loops = LoopRegistry()
    collector = LogCollector(
        LogStore(tmp_path / "logs.db"), cast("Fleet", fleet), TailHub(),
        retention_s=86400.0, max_bytes=2**20, prune_interval_s=3600.0, loops=loops,
    )  # fmt: skip
    collector.start()
    try:
        await until("node1 followed", lambda: _following(loops) == {"lab/node1"})
        fleet.links.add("lab", "node2")
        await until("node2 followed too", lambda: _following(loops) == {"lab/node1", "lab/node2"})
        fleet.links.remove("lab", "node1")
        await until("node1 let go", lambda: _following(loops) == {"lab/node2"})
        assert loops.get("logs lab/node1") is None  # gone from the health report too
        fleet.links.remove("lab", "node2")
        replaced = fleet.links.add("lab", "node2")  # re-enrolled: a new link, same node
        await until(
            "the new link followed",
            lambda: (
                cast("object", collector._followers.get(("lab", "node2"), (None,))[0]) is replaced
            ),
        )
        assert _following(loops) == {"lab/node2"} and first is not replaced
    finally:
        await collector.stop()
    assert not fleet.hub.has_subscribers(LinkAdded) and not fleet.hub.has_subscribers(LinkRemoved)
    assert _following(loops) == set()
    fleet.links.add("lab", "node3")  # after stop: nobody follows it
    await asyncio.sleep(0.01)
    assert loops.get("logs lab/node3") is None
