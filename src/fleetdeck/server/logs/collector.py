"""Collecting logs: one follower per agent link, one writer thread, one pruner.

Each node's follower opens the agent's ``POST /v1/logs/stream`` with the cursors of what the
server holds for that node's containers (from ``logs.db`` when it first connects after a
start, then the cursors of what it received), so that a server outage, a partition or an agent
restart resumes where it stopped, without loss (as far as the engine still has the lines) and
without duplicates. A stream that says nothing (not even its 2-second status) for
:data:`STREAM_SILENCE_S` is dropped and opened again with backoff.

Received lines go to the live tails at once and to a bounded queue that one thread drains
into the store in batches (one transaction per batch, cursors in the same transaction as
their lines). When the queue is full the follower waits: the agent's own bounded buffer then
fills, and the agent drops, counts and reports (the count ends up in ``log_sources.dropped``).
Lines older than the retention are not stored. The pruner runs every ``prune_interval_s``.
Followers come and go with the fleet's links: the collector subscribes to the fleet hub's
:class:`~fleetdeck.server.fleet.hub.LinkAdded` / :class:`~fleetdeck.server.fleet.hub.LinkRemoved`
and ``logs-watch`` applies each event in order (a re-enrolled node's new link replaces the
old one's follower). Each of these is a supervised
:class:`~fleetdeck.server.loops.BackgroundLoop` (``logs-watch``, ``logs-writer``,
``logs-pruner``, and ``logs ENV/NODE`` per follower).

Every message is validated (:data:`fleetdeck.wire.streams.LogStreamMessage`) before it is applied:
a bad one is counted on the link and skipped. A follower that fails in an unexpected way is
logged and restarted by its loop with backoff (keeping its cursors) rather than left dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from fleetdeck.agent.logship import Cursor
from fleetdeck.clock import SYSTEM
from fleetdeck.errors import FleetdeckError, NotFoundError
from fleetdeck.server.fleet.agent_streams import LOG_STREAM_MESSAGE
from fleetdeck.server.fleet.hub import LinkAdded, LinkRemoved
from fleetdeck.server.logs.query import ns_to_iso
from fleetdeck.server.logs.store import Batch, LogStore, SourceKey
from fleetdeck.server.loops import BackgroundLoop, Backoff
from fleetdeck.wire.streams import (
    LogLinesMessage,
    LogSourceMessage,
    LogStatusMessage,
    LogStreamMessage,
    ShippedLine,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from fleetdeck.clock import Clock
    from fleetdeck.server.fleet.hub import Subscription
    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.logs.tail import TailHub
    from fleetdeck.server.loops import LoopRegistry

T = TypeVar("T")

STREAM_SILENCE_S = 10.0
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 10.0
#: Seconds before asking again an agent that has no log stream (an older agent).
NO_ROUTE_RETRY_S = 60.0
QUEUE_MESSAGES = 200
#: Lines written per transaction at most.
BATCH_LINES = 20_000

log = logging.getLogger(__name__)


def _merge(into: Batch, other: Batch) -> None:
    into.sources.update(other.sources)
    into.lines.extend(other.lines)
    into.cursors.update(other.cursors)
    for key, count in other.dropped.items():
        into.dropped[key] = into.dropped.get(key, 0) + count


class LogCollector:
    """Follows every node's log stream into the store and the live tails.

    Args:
        store: The log store.
        fleet: Gives the agent links, and the hub that says when they come and go.
        hub: Where live lines go.
        retention_s: Lines older than this are not stored and are pruned.
        max_bytes: The store's size bound (oldest lines pruned first).
        prune_interval_s: Seconds between pruning runs.
        clock: The present that the age limit counts back from.
        loops: Where its loops are registered for the health report (none in some tests).
    """

    def __init__(
        self,
        store: LogStore,
        fleet: Fleet,
        hub: TailHub,
        *,
        retention_s: float,
        max_bytes: int,
        prune_interval_s: float,
        clock: Clock = SYSTEM,
        loops: LoopRegistry | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.fleet = fleet
        self.hub = hub
        self.retention_s = retention_s
        self.max_bytes = max_bytes
        self.prune_interval_s = prune_interval_s
        self.queue: asyncio.Queue[Batch] = asyncio.Queue(QUEUE_MESSAGES)
        self.written = 0
        self.pruned = 0
        #: The clock's time (ns) when the last pruning run finished; 0 before the first.
        self.last_pruned_ns = 0
        #: Per node ``ENV/NODE``: lines received, dropped by the agent, its buffer, last status.
        self.nodes: dict[str, dict[str, Any]] = {}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logs-writer")
        self._followers: dict[tuple[str, str], tuple[AgentLink, BackgroundLoop]] = {}
        #: Links added and removed, in the order the hub told them, for ``logs-watch``.
        self._link_events: asyncio.Queue[LinkAdded | LinkRemoved] = asyncio.Queue()
        self._subscriptions: list[Subscription[Any]] = []
        self.registry = loops
        #: The collector's own loops (one more per followed node, named ``logs ENV/NODE``).
        self.loops = [
            BackgroundLoop("logs-watch", step=self._watch_once, clock=clock),
            BackgroundLoop(
                "logs-writer", step=self._write_batch, backoff=Backoff(1.0, 10.0), clock=clock
            ),
            BackgroundLoop(
                "logs-pruner", step=self._prune_step, interval=prune_interval_s, jitter=0.1,
                backoff=Backoff(1.0, max(1.0, prune_interval_s)), clock=clock,
            ),
        ]  # fmt: skip

    async def on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the store's writer thread (every write goes through it)."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    def start(self) -> None:
        """Start following nodes (those linked now, then as links change), writing, pruning."""
        hub = self.fleet.hub
        self._subscriptions = [
            hub.subscribe(LinkAdded, self._link_events.put_nowait),
            hub.subscribe(LinkRemoved, self._link_events.put_nowait),
        ]
        for environment, node in self._links():
            self._link_events.put_nowait(LinkAdded(environment, node))
        for loop in self.loops:
            self._track(loop).start()

    async def stop(self) -> None:
        """Stop everything (what is queued is not written: cursors make agents resend it)."""
        for subscription in self._subscriptions:
            self.fleet.hub.unsubscribe(subscription)
        self._subscriptions = []
        await asyncio.gather(*(loop.stop() for loop in self.loops))  # no follower added now
        followers = [loop for _, loop in self._followers.values()]
        await asyncio.gather(*(loop.stop() for loop in followers))
        for loop in followers:
            self._untrack(loop)
        self._followers = {}
        await self.on_writer(self.store.close)
        self._writer.shutdown(wait=True)

    def _track(self, loop: BackgroundLoop) -> BackgroundLoop:
        return self.registry.add(loop) if self.registry is not None else loop

    def _untrack(self, loop: BackgroundLoop) -> None:
        if self.registry is not None:
            self.registry.discard(loop)

    # ------------------------------------------------------------- following
    def _links(self) -> list[tuple[str, str]]:
        """The nodes the fleet has a link to now."""
        linked: list[tuple[str, str]] = []
        for state in self.fleet.inventory.nodes():
            with contextlib.suppress(NotFoundError):
                link = self.fleet.links.get(state.environment, state.node)
                linked.append((link.environment, link.node))
        return linked

    async def _watch_once(self) -> None:
        """One step of ``logs-watch``: apply the next link event to the followers."""
        event = await self._link_events.get()
        key = (event.environment, event.node)
        link: AgentLink | None = None
        if isinstance(event, LinkAdded):
            with contextlib.suppress(NotFoundError):  # None: removed again since
                link = self.fleet.links.get(event.environment, event.node)
        running = self._followers.get(key)
        if running is not None and (link is None or running[0] is not link):
            gone = self._followers.pop(key)[1]  # removed, or replaced (re-enrolled node)
            await gone.stop()
            self._untrack(gone)
            running = None
        if link is not None and running is None:
            follower = self._track(self._follower(link))
            self._followers[key] = (link, follower)
            follower.start()

    def _follower(self, link: AgentLink) -> BackgroundLoop:
        """The loop that follows ``link``'s log stream (cursors kept across its restarts)."""
        held: dict[str, dict[str, Cursor]] = {}
        return BackgroundLoop(
            f"logs {link.where}", body=lambda: self._follow(link, held),
            backoff=Backoff(BACKOFF_MIN_S, BACKOFF_MAX_S), clock=self.clock,
        )  # fmt: skip

    async def _follow(self, link: AgentLink, held: dict[str, dict[str, Cursor]]) -> None:
        """Follow for ever; an unexpected failure is the loop's (logged, restarted)."""
        backoff = BACKOFF_MIN_S
        while True:
            try:
                if "cursors" not in held:
                    stored = await self.on_writer(self.store.cursors, link.environment, link.node)
                    held["cursors"] = {cid: Cursor(ns, seen) for cid, (ns, seen) in stored.items()}
                await self._consume(link, held["cursors"])
                backoff = BACKOFF_MIN_S
            except NotFoundError:
                backoff = NO_ROUTE_RETRY_S  # an agent without a log stream
            except (FleetdeckError, ValueError, TimeoutError, OSError) as exc:
                log.info("logs of %s: %s; retrying in %.0fs", link.where, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max(backoff, BACKOFF_MAX_S))

    async def _consume(self, link: AgentLink, cursors: dict[str, Cursor]) -> None:
        messages = link.agent.log_stream({cid: [c.ns, c.seen] for cid, c in cursors.items()})
        meta: dict[str, dict[str, Any]] = {}
        try:
            while True:
                try:
                    message = await asyncio.wait_for(anext(messages), STREAM_SILENCE_S)
                except StopAsyncIteration:
                    return
                await self.handle(link.environment, link.node, cursors, meta, message)
        finally:
            close = getattr(messages, "aclose", None)  # an async generator: end its HTTP stream
            if close is not None:
                await close()

    async def handle(
        self,
        environment: str,
        node: str,
        cursors: dict[str, Cursor],
        meta: dict[str, dict[str, Any]],
        message: LogStreamMessage | dict[str, Any],
    ) -> None:
        """Apply one message of a node's log stream (public for tests).

        A dict is validated first: a bad one raises ``ValidationError`` (a ValueError).
        """
        if isinstance(message, dict):
            message = LOG_STREAM_MESSAGE.validate_python(message)
        where = f"{environment}/{node}"
        stats = self.nodes.setdefault(where, {"received": 0, "dropped": 0, "buffered": 0})
        batch = Batch({}, [], {}, {})
        if isinstance(message, LogSourceMessage):
            meta[message.id] = {
                "name": message.name,
                "stack": message.stack,
                "service": message.service,
            }
            batch.sources[(environment, node, message.id)] = meta[message.id]
        elif isinstance(message, LogLinesMessage):
            self._lines(environment, node, cursors, meta, message.lines, batch)
            stats["received"] += len(message.lines)
        elif isinstance(message, LogStatusMessage):
            for cid, count in message.dropped.items():
                batch.dropped[(environment, node, cid)] = count
            stats["dropped"] += sum(message.dropped.values())
            stats["buffered"] = message.buffered
            stats["last_status"] = time.time()
        if batch.sources or batch.lines or batch.cursors or batch.dropped:
            await self.queue.put(batch)

    def _lines(
        self,
        environment: str,
        node: str,
        cursors: dict[str, Cursor],
        meta: dict[str, dict[str, Any]],
        lines: list[ShippedLine],
        batch: Batch,
    ) -> None:
        cutoff = time.time_ns() - int(self.retention_s * 1e9)
        hits: list[dict[str, Any]] = []
        for cid, stream, ns, text in lines:
            key: SourceKey = (environment, node, cid)
            cursor = cursors.setdefault(cid, Cursor())
            cursor.advance(ns)
            batch.cursors[key] = (cursor.ns, cursor.seen)
            if ns < cutoff:
                continue  # older than the retention: it would be pruned at once
            batch.lines.append((key, ns, stream, text))
            if self.hub.active:
                info = meta.get(cid, {})
                hits.append(
                    {
                        "environment": environment,
                        "node": node,
                        "container": info.get("name") or cid[:12],
                        "container_id": cid,
                        "stack": info.get("stack"),
                        "service": info.get("service"),
                        "stream": stream,
                        "time": ns_to_iso(ns),
                        "line": text,
                    }
                )
        if hits:
            self.hub.publish(hits)

    # --------------------------------------------------------- writing, pruning
    async def _write_batch(self) -> None:
        """One step of ``logs-writer``: wait for lines, write a batch (a failure drops it)."""
        batch = await self.queue.get()
        while len(batch.lines) < BATCH_LINES and not self.queue.empty():
            _merge(batch, self.queue.get_nowait())
        try:
            self.written += await self.on_writer(self.store.write, batch)
        except Exception:
            log.warning("writing %d log lines failed: dropped", len(batch.lines))
            raise  # the loop logs the traceback and backs off

    async def prune(self) -> int:
        """Prune by age and size now; return the number of lines deleted."""
        deleted = await self.on_writer(
            lambda: self.store.prune(
                max_age_s=self.retention_s,
                max_bytes=self.max_bytes,
                now_ns=int(self.clock.time() * 1e9),
            )
        )
        self.pruned += deleted
        self.last_pruned_ns = int(self.clock.time() * 1e9)
        return deleted

    async def _prune_step(self) -> None:
        """One step of ``logs-pruner``."""
        deleted = await self.prune()
        if deleted:
            log.info("log retention: %d lines deleted", deleted)
