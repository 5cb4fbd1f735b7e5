"""What changed in the fleet lately, for the dashboard's "recent events".

The inventory only holds the present; operators also want to see that ``web1`` went from
running to exited a minute ago, or that node2 became unreachable. :class:`ChangeFeed` follows
the inventory's version and records the differences between what it saw before and now.
Containers of a node that just (re)connected are not reported one by one: a reconnect
replaces a node's whole list, and "node2 up (40 containers)" says it better than 40 lines.
The following runs as a supervised :class:`~fleetdeck.server.loops.BackgroundLoop`
(``ui-change-feed``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fleetdeck.server.loops import BackgroundLoop

if TYPE_CHECKING:
    from fleetdeck.server.fleet.inventory import FleetInventory, NodeState

#: Changes kept in memory (the audit log keeps the durable record of operations).
MAX_CHANGES = 200
#: Changes closer together than this are diffed once.
SETTLE_S = 0.1

_Seen = dict[str, tuple[str, str, str | None]]  # id -> (name, state, health)


@dataclass(frozen=True)
class Change:
    """One observed change: when, where, and a sentence for people."""

    time: datetime
    where: str
    text: str
    level: str  # ok|warn|bad|info
    ref: str | None = None  # ENV/NODE/NAME of the container, for a link


def _level_of(state: str, health: str | None) -> str:
    if health == "unhealthy" or state in ("dead", "restarting"):
        return "bad"
    if state in ("exited", "paused", "created"):
        return "warn"
    return "ok"


class ChangeFeed:
    """Records inventory changes as :class:`Change` entries, newest last."""

    def __init__(self, inventory: FleetInventory) -> None:
        self.inventory = inventory
        self.changes: deque[Change] = deque(maxlen=MAX_CHANGES)
        self._nodes: dict[tuple[str, str], tuple[str, _Seen]] = {}
        self._version = -1
        self.loop = BackgroundLoop("ui-change-feed", step=self._follow)

    def recent(self, limit: int = 20) -> list[Change]:
        """The latest ``limit`` changes, newest first."""
        return list(reversed(self.changes))[:limit]

    def observe(self) -> None:
        """Compare the inventory with what was seen last time and record the differences."""
        now = datetime.now(UTC)
        current: dict[tuple[str, str], tuple[str, _Seen]] = {}
        for state in self.inventory.nodes():
            key = (state.environment, state.node)
            current[key] = (state.status.value, self._seen(state))
            self._diff_node(key, current[key], now)
        for env, node in self._nodes.keys() - current.keys():
            self._add(now, f"{env}/{node}", "node removed", "info")
        self._nodes = current

    @staticmethod
    def _seen(state: NodeState) -> _Seen:
        return {c.id: (c.name, c.state, c.health) for c in state.containers.values()}

    def _diff_node(self, key: tuple[str, str], now_seen: tuple[str, _Seen], now: datetime) -> None:
        where = "/".join(key)
        status, containers = now_seen
        before = self._nodes.get(key)
        if before is None or before[0] != status:
            if before is not None or status != "pending":
                level = "ok" if status == "up" else "bad"
                self._add(now, where, f"node {status} ({len(containers)} containers)", level)
            return
        if status != "up":
            return
        old = before[1]
        for cid, (name, state, health) in containers.items():
            ref = f"{where}/{name}"
            if cid not in old:
                self._add(now, where, f"{name} created ({state})", "info", ref)
                continue
            _, old_state, old_health = old[cid]
            if old_state != state:
                self._add(now, where, f"{name}: {old_state} → {state}", _level_of(state, None), ref)
            elif old_health != health and health is not None:
                text = f"{name}: {old_health or 'no health'} → {health}"
                self._add(now, where, text, _level_of(state, health), ref)
        for cid in old.keys() - containers.keys():
            self._add(now, where, f"{old[cid][0]} removed", "info")

    def _add(
        self, time: datetime, where: str, text: str, level: str, ref: str | None = None
    ) -> None:
        self.changes.append(Change(time, where, text, level, ref))

    # ------------------------------------------------------------ background task
    def start(self) -> None:
        """Follow the inventory in the background (the server's lifespan calls this)."""
        self.loop.start()

    async def stop(self) -> None:
        """Stop following."""
        await self.loop.stop()

    async def _follow(self) -> None:
        """One step of the loop: wait for a change (30 s at most), let it settle, diff."""
        await self.inventory.wait_changed(self._version, 30.0)
        await asyncio.sleep(SETTLE_S)
        self._version = self.inventory.version
        self.observe()
