"""The agent's log shipper: every container's stdout/stderr, with timestamps, to the server.

Delivery: a route of its own, ``POST /v1/logs/stream`` (NDJSON), that the server follows per
node, rather than a message type on the inventory stream: log volume is unbounded and must
never delay the inventory's deltas and heartbeats (a chatty container would otherwise make
its node look unreachable), and logs resume from per-container cursors where the inventory
restarts from a snapshot. The request body carries the server's cursors, the answer is:

* ``{"type": "source", "id", "name", "stack", "service"}`` before a container's first lines
  (the server keeps these, so lines stay searchable by name after the container is gone);
* ``{"type": "lines", "lines": [[ID, STREAM, TIME_NS, TEXT], ...]}`` in batches;
* ``{"type": "status", "dropped": {ID: N}, "buffered": N}`` every :data:`REPORT_INTERVAL_S`
  (a heartbeat; ``dropped`` counts lines dropped since the previous report).

Cursors: a container's cursor is ``(time_ns, seen)``, the engine timestamp of the last line
shipped and how many lines carried exactly that time. A follower asks the engine for lines
``since`` that time (the engine's ``since`` is inclusive) and skips the first ``seen`` lines at
it, so nothing is shipped twice. The server is the durable owner of cursors (it advances one
only for lines it received): on every new stream, after a server outage, a partition or an
agent restart, the agent starts again from the cursors the server sends, and loses only what
the engine itself no longer has (a removed container, rotated log files).

Pressure: followers read the engine's logs API (``follow=1``), which only reads the log
driver's files, so a slow reader never blocks or slows a container. Lines go into one bounded
buffer (:data:`DEFAULT_BUFFER_LINES` lines, :data:`DEFAULT_BUFFER_BYTES` bytes); when it is
full new lines are dropped, counted per container and reported in the next ``status``
message, and the cursor moves past them (a drop is final and reported, never retried).
Followers only run while a server is connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.agent.streams import demultiplex, lines
from fleetdeck.errors import FleetdeckError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fleetdeck.agent.engine import Engine
    from fleetdeck.agent.inventory import ContainerInventory
    from fleetdeck.wire.containers import EngineContainer

DEFAULT_BUFFER_LINES = 50_000
DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024
#: Longer lines are cut (a runaway binary dump must not take the whole buffer).
MAX_LINE_CHARS = 16 * 1024
#: Lines per ``lines`` message at most.
BATCH_LINES = 1000
#: Characters of text per ``lines`` message at most (past it the batch is sent): even fully
#: escaped by JSON (12 bytes for an astral character) a message stays under the 32 MiB line
#: cap of the server (``fleetdeck.server.fleet.agent_streams.MAX_LINE_BYTES``).
BATCH_CHARS = 2 * 1024 * 1024
WATCH_INTERVAL_S = 1.0
REPORT_INTERVAL_S = 2.0
#: Seconds before a follower that failed (engine down) is tried again.
RETRY_S = 5.0

log = logging.getLogger(__name__)


def parse_stamp(text: str) -> int | None:
    """Epoch nanoseconds of an RFC 3339 time with up to 9 fraction digits (Docker's), or None."""
    main, dot, rest = text.partition(".")
    if dot:
        digits = "".join(ch for ch in rest[:9] if ch.isdigit())
        zone = rest[len(digits) :]
    else:
        main, digits, zone = text[:19], "", text[19:]
    try:
        whole = datetime.fromisoformat(main + (zone.replace("Z", "+00:00") or "+00:00"))
    except ValueError:
        return None
    return int(whole.timestamp()) * 1_000_000_000 + int((digits + "000000000")[:9])


@dataclass
class Cursor:
    """Where shipping of one container stands: the last line's time and lines seen at it."""

    ns: int = 0
    seen: int = 0

    def advance(self, ns: int) -> None:
        """Record one more line at ``ns`` (lines arrive in time order)."""
        if ns == self.ns:
            self.seen += 1
        elif ns > self.ns:
            self.ns, self.seen = ns, 1

    def since_param(self) -> str | None:
        """The engine's ``since`` query value (``seconds.nanoseconds``), None for everything."""
        if self.ns <= 0:
            return None
        return f"{self.ns // 1_000_000_000}.{self.ns % 1_000_000_000:09d}"


class LineFilter:
    """Skips what a cursor says was shipped already; advances the cursor for the rest."""

    def __init__(self, cursor: Cursor) -> None:
        self.cursor = cursor
        # Compared with the cursor as it was at the start: within one read, stdout and stderr
        # lines may come a few microseconds out of order, and none of those is a repeat.
        self._start_ns, self._skip_left = cursor.ns, cursor.seen

    def admit(self, ns: int) -> bool:
        """Whether the line at ``ns`` is new (and if so, count it in the cursor)."""
        if ns < self._start_ns:
            return False
        if ns == self._start_ns and self._skip_left > 0:
            self._skip_left -= 1
            return False
        self.cursor.advance(ns)
        return True


#: (container id, stream, time ns, text), or a source announcement as ("", "source", 0, JSON).
Entry = tuple[str, str, int, str]


class LogBuffer:
    """A bounded FIFO of lines; when full, new lines are dropped and counted per container."""

    def __init__(
        self, max_lines: int = DEFAULT_BUFFER_LINES, max_bytes: int = DEFAULT_BUFFER_BYTES
    ) -> None:
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self._entries: deque[Entry] = deque()
        self._lines = 0  # entries that are lines (announcements do not count)
        self._bytes = 0
        #: Dropped lines per container since the last :meth:`take_dropped`.
        self.dropped: dict[str, int] = {}
        self.dropped_total = 0
        self.ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._entries)

    def offer(self, container_id: str, stream: str, ns: int, text: str) -> bool:
        """Queue a line without waiting; False (and counted) if the buffer is full."""
        size = len(text)
        if self._lines >= self.max_lines or self._bytes + size > self.max_bytes:
            self.dropped[container_id] = self.dropped.get(container_id, 0) + 1
            self.dropped_total += 1
            return False
        self._entries.append((container_id, stream, ns, text))
        self._lines += 1
        self._bytes += size
        self.ready.set()
        return True

    def announce(self, source: dict[str, Any]) -> None:
        """Queue a source announcement (never dropped: one per follower start)."""
        self._entries.append(("", "source", 0, json.dumps(source)))
        self.ready.set()

    def take(self, limit: int = BATCH_LINES) -> list[Entry]:
        """Remove and return up to ``limit`` entries, oldest first."""
        out: list[Entry] = []
        while self._entries and len(out) < limit:
            entry = self._entries.popleft()
            if entry[0]:
                self._lines -= 1
                self._bytes -= len(entry[3])
            out.append(entry)
        if not self._entries:
            self.ready.clear()
        return out

    def take_dropped(self) -> dict[str, int]:
        """The per-container drop counts since the last call (and reset them)."""
        dropped, self.dropped = self.dropped, {}
        return dropped

    def clear(self) -> None:
        """Forget every queued entry (a new consumer starts again from its own cursors)."""
        self._entries.clear()
        self._lines = self._bytes = 0
        self.ready.clear()


@dataclass
class _Source:
    """One container's shipping state."""

    cursor: Cursor
    task: asyncio.Task[None] | None = None
    #: (running, started_at) when the last follower started; a stopped container is read
    #: once more after each change, then left alone.
    followed: tuple[bool, str] | None = None
    retry_at: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


def _signature(container: EngineContainer) -> tuple[bool, str]:
    started = container.started_at.isoformat() if container.started_at else ""
    return container.state == "running", started


class LogShipper:
    """Follows every container's logs into a bounded buffer while a server is connected.

    Args:
        engine: Where logs are read from.
        inventory: Which containers exist (and their names, stacks and services).
        buffer: The bounded buffer (tests pass a small one).
    """

    def __init__(
        self, engine: Engine, inventory: ContainerInventory, buffer: LogBuffer | None = None
    ) -> None:
        self.engine = engine
        self.inventory = inventory
        self.buffer = buffer if buffer is not None else LogBuffer()
        self._sources: dict[str, _Source] = {}
        self._session = 0
        self._watch: asyncio.Task[None] | None = None

    # ------------------------------------------------------------- sessions
    def open(self, cursors: dict[str, Cursor]) -> int:
        """Start a session from the consumer's cursors (ending any previous session)."""
        self._stop_followers()
        self.buffer.clear()
        self._session += 1
        self._sources = {cid: _Source(cursor) for cid, cursor in cursors.items()}
        if self._watch is None:
            self._watch = asyncio.create_task(self._watch_loop(), name="log-shipper")
        return self._session

    async def close(self, session: int) -> None:
        """End ``session`` unless a newer one replaced it."""
        if session != self._session or self._watch is None:
            return
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        self._watch = None
        self._stop_followers()
        self.buffer.clear()

    def _stop_followers(self) -> None:
        for source in self._sources.values():
            if source.task is not None:
                source.task.cancel()
                source.task = None

    async def messages(self, session: int) -> AsyncIterator[dict[str, Any]]:
        """The session's messages: sources and line batches as they come, status regularly."""
        next_report = time.monotonic()
        while session == self._session:
            wait = next_report - time.monotonic()
            if wait > 0 and not self.buffer.ready.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.buffer.ready.wait(), wait)
            for message in self._drain():
                yield message
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + REPORT_INTERVAL_S
                dropped = self.buffer.take_dropped()
                yield {"type": "status", "dropped": dropped, "buffered": len(self.buffer)}

    def _drain(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        batch: list[list[Any]] = []
        chars = 0
        for cid, stream, ns, text in self.buffer.take():
            if batch and (not cid or chars + len(text) > BATCH_CHARS):
                out.append({"type": "lines", "lines": batch})  # keep the order; bound the size
                batch, chars = [], 0
            if not cid:  # a source announcement
                out.append(json.loads(text))
            else:
                batch.append([cid, stream, ns, text])
                chars += len(text)
        if batch:
            out.append({"type": "lines", "lines": batch})
        return out

    # ------------------------------------------------------------ followers
    async def _watch_loop(self) -> None:
        while True:
            try:
                self.watch_once()
            except Exception:
                log.exception("log shipper watch failed")
            await asyncio.sleep(WATCH_INTERVAL_S)

    def watch_once(self) -> None:
        """Start a follower for each container that has lines to read and none running."""
        now = time.monotonic()
        containers = self.inventory.containers
        for cid in [c for c, s in self._sources.items() if c not in containers and not s.task]:
            del self._sources[cid]  # removed and fully read; the server keeps its cursor
        for container in list(containers.values()):
            source = self._sources.setdefault(container.id, _Source(Cursor()))
            signature = _signature(container)
            if source.task is not None or now < source.retry_at:
                continue
            if signature[0] or signature != source.followed:
                source.followed = signature
                source.meta = {
                    "type": "source",
                    "id": container.id,
                    "name": container.name,
                    "stack": container.stack,
                    "service": container.service,
                }
                source.task = asyncio.create_task(
                    self._follow(container.id, source), name=f"logs {container.name}"
                )

    async def _follow(self, container_id: str, source: _Source) -> None:
        try:
            await self.follow(container_id, source)
        except NotFoundError:
            pass  # removed while we read
        except FleetdeckError as exc:
            log.info("logs of %s: %s; retrying in %.0fs", container_id[:12], exc, RETRY_S)
            source.retry_at = time.monotonic() + RETRY_S
            source.followed = None
        finally:
            source.task = None

    async def follow(self, container_id: str, source: _Source) -> None:
        """Read one container's logs from its cursor until the engine ends the stream."""
        inspect = await self.engine.inspect_container(container_id)
        tty = bool((inspect.get("Config") or {}).get("Tty"))
        self.buffer.announce(source.meta)
        params = {
            "stdout": True,
            "stderr": True,
            "timestamps": True,
            "follow": True,
            "tail": "all",
            "since": source.cursor.since_param(),
        }
        admit = LineFilter(source.cursor).admit
        path = f"containers/{container_id}/logs"
        async with self.engine.stream("GET", path, params=params) as response:
            async for stream, text in lines(demultiplex(response.content, tty=tty)):
                stamp, _, line = text.partition(" ")
                ns = parse_stamp(stamp)
                if ns is None:  # not a timestamped line (cannot happen with timestamps=1)
                    ns, line = time.time_ns(), text
                if admit(ns):
                    self.buffer.offer(container_id, stream, ns, line[:MAX_LINE_CHARS])
