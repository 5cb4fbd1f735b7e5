"""The agent's live, event-driven inventory of its engine's containers.

:class:`ContainerInventory` holds every container of the engine in memory and keeps it current
from Docker's event stream: a container event re-inspects that one container (upsert, or
delete once it is gone). Events can be missed (the stream breaks, the engine restarts), so a
full resync every :data:`RESYNC_INTERVAL` seconds and after every reconnect diffs the engine's
list against what is held and emits only the differences. When the event stream breaks and
the engine does not answer a ping, the inventory reports the engine down and reconnects with a
backoff of :data:`BACKOFF_MIN` → :data:`BACKOFF_MAX` seconds.

Consumers (the ``/v1/inventory/stream`` route) subscribe and receive NDJSON lines: a snapshot,
then upserts, deletes, info and heartbeats, each with the inventory's ``rev`` (it grows with
every change). A subscriber that falls :data:`QUEUE_SIZE` messages behind is disconnected
rather than allowed to hold the inventory up; it reconnects and starts from a new snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from fleetdeck.errors import FleetdeckError
from fleetdeck.wire.fleet import AgentInfo

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from contextlib import AbstractAsyncContextManager

    from fleetdeck.wire.containers import EngineContainer

RESYNC_INTERVAL = 60.0
HEARTBEAT_INTERVAL = 2.0
BACKOFF_MIN = 0.5
BACKOFF_MAX = 5.0
QUEUE_SIZE = 1000
#: Metrics messages kept for replay to a (re)connecting server (an hour at 10 s).
METRICS_BUFFER = 360
#: How long ``start`` waits for the first sync before serving anyway (engine down at boot).
FIRST_SYNC_TIMEOUT = 10.0
#: Container event actions that do not change what the inventory holds (health checks run
#: an exec every few seconds; re-inspecting for them would be pure load).
_IGNORED_PREFIXES = ("exec_", "top", "attach", "resize", "export", "commit", "copy", "archive")

log = logging.getLogger(__name__)


class InventoryEngine(Protocol):
    """What the inventory needs of an engine (implemented by :class:`~.engine.Engine`)."""

    docker_host: str

    async def ping(self) -> None:
        """Return if the engine answers, else raise NodeUnreachableError."""

    async def agent_info(self) -> AgentInfo:
        """The host and engine as AgentInfo."""

    async def list_containers(self) -> list[EngineContainer]:
        """Every container of the engine."""

    async def container(self, ref: str) -> EngineContainer | None:
        """One container, or None if it is gone."""

    def events(self) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """The engine's event stream."""


def _same(a: EngineContainer, b: EngineContainer) -> bool:
    # Docker's status text ("Up 5 minutes") changes with the clock alone: not a change.
    return a.model_dump(exclude={"status"}) == b.model_dump(exclude={"status"})


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


class Subscription:
    """One consumer's bounded queue of NDJSON lines; ``None`` marks the end."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=size)
        self.overflowed = False

    def offer(self, line: bytes) -> bool:
        """Queue a line without waiting; on overflow end the subscription, return False."""
        try:
            self.queue.put_nowait(line)
        except asyncio.QueueFull:
            self.end(overflowed=True)
            return False
        return True

    def end(self, *, overflowed: bool = False) -> None:
        """Drop what is queued and wake the consumer with the end marker."""
        self.overflowed = self.overflowed or overflowed
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def lines(self) -> AsyncIterator[bytes]:
        """Yield lines until the subscription ends."""
        while (line := await self.queue.get()) is not None:
            yield line


class ContainerInventory:
    """An engine's containers in memory, kept current by events plus periodic resync."""

    def __init__(
        self,
        engine: InventoryEngine,
        *,
        resync_interval: float = RESYNC_INTERVAL,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        queue_size: int = QUEUE_SIZE,
        metrics_buffer: int = METRICS_BUFFER,
    ) -> None:
        self.engine = engine
        self.resync_interval = resync_interval
        self.heartbeat_interval = heartbeat_interval
        self.queue_size = queue_size
        self.rev = 0
        self.containers: dict[str, EngineContainer] = {}
        self.info = AgentInfo(hostname=socket.gethostname(), engine_state="down")
        self._subscribers: set[Subscription] = set()
        self._lock = asyncio.Lock()
        self._synced = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        #: The last metrics messages as (sample time, line), replayed on subscribe.
        self.metrics_backlog: deque[tuple[datetime, bytes]] = deque(
            maxlen=min(metrics_buffer, queue_size // 2)
        )

    # --------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Start following the engine; wait (bounded) for the first full sync."""
        self._tasks = [
            asyncio.create_task(self._follow(), name="inventory-follow"),
            asyncio.create_task(self._resync_loop(), name="inventory-resync"),
            asyncio.create_task(self._heartbeat_loop(), name="inventory-heartbeat"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._synced.wait(), FIRST_SYNC_TIMEOUT)

    async def stop(self) -> None:
        """Stop the loops and end every subscription."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.end_subscriptions()

    def end_subscriptions(self) -> None:
        """End every subscription: their streams finish, and the consumers see the end at once.

        The agent does this first when it stops, so the server marks the node unreachable
        the moment the agent goes rather than after its stream's silence timeout.
        """
        for sub in list(self._subscribers):
            sub.end()
        self._subscribers.clear()

    # ------------------------------------------------------------- subscribers
    def subscribe(self, metrics_since: datetime | None = None) -> Subscription:
        """A new subscription whose first line is a snapshot of the inventory.

        Buffered metrics messages sampled after ``metrics_since`` (all of them if None)
        follow the snapshot, so a server that was away gets the samples it missed.
        """
        sub = Subscription(self.queue_size)
        sub.offer(_line(self.snapshot()))
        for sampled, line in self.metrics_backlog:
            if metrics_since is None or sampled > metrics_since:
                sub.offer(line)
        self._subscribers.add(sub)
        return sub

    def publish_metrics(self, message: dict[str, Any]) -> None:
        """Send a metrics message to subscribers and keep it (bounded) for replay."""
        line = _line(message)
        self.metrics_backlog.append((datetime.fromisoformat(message["time"]), line))
        self._publish_line(line)

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a subscription (its consumer went away)."""
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        """How many consumers are subscribed."""
        return len(self._subscribers)

    def snapshot(self) -> dict[str, Any]:
        """The snapshot message: info and every container, at the current rev."""
        return {
            "type": "snapshot",
            "rev": self.rev,
            "info": self.info.model_dump(mode="json"),
            "containers": [c.model_dump(mode="json") for c in self.containers.values()],
        }

    def _publish(self, message: dict[str, Any]) -> None:
        self._publish_line(_line(message))

    def _publish_line(self, line: bytes) -> None:
        for sub in list(self._subscribers):
            if not sub.offer(line):
                self._subscribers.discard(sub)
                log.warning("inventory subscriber too slow: disconnected")

    def _emit(self, kind: str, **fields: Any) -> None:
        self.rev += 1
        self._publish({"type": kind, "rev": self.rev, **fields})

    # ----------------------------------------------------------------- changes
    def _upsert(self, container: EngineContainer) -> None:
        held = self.containers.get(container.id)
        self.containers[container.id] = container
        if held is None or not _same(held, container):
            self._emit("upsert", container=container.model_dump(mode="json"))

    def _delete(self, container_id: str) -> None:
        if self.containers.pop(container_id, None) is not None:
            self._emit("delete", id=container_id)

    def _set_info(self, info: AgentInfo) -> None:
        changed = info != self.info
        self.info = info
        if changed:
            log.info(
                "engine %s: %s (swarm %s)",
                self.engine.docker_host,
                info.engine_state,
                info.swarm.state,
            )
            self._emit("info", info=info.model_dump(mode="json"))

    async def refresh_container(self, container_id: str, *, destroyed: bool = False) -> None:
        """Re-inspect one container and upsert it, or delete it if it is gone."""
        async with self._lock:
            current = None if destroyed else await self.engine.container(container_id)
            if current is None:
                self._delete(container_id)
            else:
                self._upsert(current)

    async def resync(self) -> None:
        """Diff the engine's full container list (and info) against what is held."""
        async with self._lock:
            info = await self.engine.agent_info()
            current = {c.id: c for c in await self.engine.list_containers()}
            for gone in [cid for cid in self.containers if cid not in current]:
                self._delete(gone)
            for container in current.values():
                self._upsert(container)
            self._set_info(info)
        self._synced.set()

    # ------------------------------------------------------------------- loops
    async def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("Type")
        action = str(event.get("Action") or event.get("status") or "")
        if kind == "container":
            if action.startswith(_IGNORED_PREFIXES):
                return
            actor = event.get("Actor") or {}
            container_id = event.get("id") or actor.get("ID")
            if container_id:
                await self.refresh_container(container_id, destroyed=action == "destroy")
        elif kind in ("daemon", "node"):
            self._set_info(await self.engine.agent_info())

    async def _engine_alive(self) -> bool:
        try:
            await self.engine.ping()
        except FleetdeckError:
            return False
        return True

    def _engine_down(self) -> None:
        if self.info.engine_state != "down" or not self._synced.is_set():
            self._set_info(self.info.model_copy(update={"engine_state": "down"}))
        self._synced.set()  # nothing to wait for: serve what is known

    async def _follow(self) -> None:
        """Follow the event stream; resync on every (re)connect; back off while down."""
        backoff = BACKOFF_MIN
        while True:
            try:
                async with self.engine.events() as events:
                    await self.resync()
                    backoff = BACKOFF_MIN
                    async for event in events:
                        await self._on_event(event)
                log.info("engine %s: event stream ended", self.engine.docker_host)
            except FleetdeckError as exc:
                log.info("engine %s: %s", self.engine.docker_host, exc.message)
            except Exception:
                log.exception(
                    "engine %s: unexpected error in the event loop", self.engine.docker_host
                )
            if await self._engine_alive():
                await asyncio.sleep(BACKOFF_MIN)
                continue
            self._engine_down()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync_interval)
            if self.info.engine_state != "up":
                continue
            try:
                await self.resync()
            except FleetdeckError as exc:
                log.info("engine %s: resync failed: %s", self.engine.docker_host, exc.message)
            except Exception:
                log.exception("engine %s: unexpected error in resync", self.engine.docker_host)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            self._publish({"type": "heartbeat", "rev": self.rev})
