"""The log shipper against a fake engine log API: timestamps, cursors, the bounded buffer."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.agent.inventory import ContainerInventory
from fleetdeck.agent.logship import Cursor, LineFilter, LogBuffer, LogShipper, parse_stamp
from fleetdeck.wire.containers import EngineContainer

from .test_inventory import FakeEngine

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

T0 = 1_795_000_000_000_000_000  # epoch ns


def stamp(ns: int) -> str:
    """Docker's RFC 3339 with 9 fraction digits."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:09d}Z"


def frame(stream: int, text: str) -> bytes:
    """One multiplexed frame of the engine's logs API."""
    data = text.encode()
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


class FakeLogEngine(FakeEngine):
    """Serves one container's stored lines, honouring ``since`` (inclusive, as Docker)."""

    def __init__(self, lines: list[tuple[int, int, str]]) -> None:
        super().__init__()
        self.lines = lines
        self.requests: list[dict[str, Any]] = []

    async def inspect_container(self, ref: str) -> dict[str, Any]:
        """Just enough inspect: no TTY."""
        return {"Id": ref, "Config": {"Tty": False}}

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, path: str, *, params: dict[str, Any] | None = None
    ) -> AsyncIterator[Any]:
        """The stored lines at or after ``since``, multiplexed, then the end of the stream."""
        params = params or {}
        self.requests.append(params)
        since = params.get("since")
        since_ns = 0
        if since:
            seconds, nanos = since.split(".")
            since_ns = int(seconds) * 1_000_000_000 + int(nanos)
        reader = asyncio.StreamReader()
        for ns, stream, text in self.lines:
            if ns >= since_ns:
                reader.feed_data(frame(stream, f"{stamp(ns)} {text}\n"))
        reader.feed_eof()

        class Response:
            content = reader

        yield Response()


def shipper_for(
    lines: list[tuple[int, int, str]], buffer: LogBuffer | None = None
) -> tuple[LogShipper, FakeLogEngine]:
    engine = FakeLogEngine(lines)
    inventory = ContainerInventory(engine)
    inventory.containers["c1"] = EngineContainer(
        id="c1", name="web-1", image="img", state="exited", created=datetime.now(UTC),
        stack="shop", service="web",
    )  # fmt: skip
    return LogShipper(engine, inventory, buffer), engine  # type: ignore[arg-type]


LINES = [
    (T0 + 1, 1, "one"),
    (T0 + 2, 1, "two"),
    (T0 + 2, 2, "two-bis"),  # same nanosecond, other stream
    (T0 + 3, 1, "three"),
    (T0 + 4, 2, "four"),
]


async def ship(shipper: LogShipper, cursors: dict[str, Cursor]) -> list[dict[str, Any]]:
    """Open a session, let the followers finish, return the messages drained."""
    session = shipper.open(cursors)
    shipper.watch_once()
    for source in list(shipper._sources.values()):
        if source.task is not None:
            await source.task
    messages = []
    async for message in shipper.messages(session):
        messages.append(message)
        if message["type"] == "status":
            break
    await shipper.close(session)
    return messages


def shipped(messages: list[dict[str, Any]]) -> list[str]:
    return [line[3] for m in messages if m["type"] == "lines" for line in m["lines"]]


def test_parse_stamp_reads_docker_times_to_the_nanosecond() -> None:
    assert parse_stamp(stamp(T0 + 123)) == T0 + 123
    whole = parse_stamp("2026-11-22T18:30:01Z")
    assert whole is not None and parse_stamp("2026-11-22T18:30:01.5Z") == whole + 500_000_000
    assert parse_stamp("2026-11-22T18:30:01.000000001+00:00") is not None
    assert parse_stamp("not-a-time") is None


def test_cursor_since_is_the_engines_seconds_dot_nanoseconds() -> None:
    assert Cursor().since_param() is None
    assert Cursor(T0 + 5, 1).since_param() == f"{T0 // 1_000_000_000}.000000005"


def test_line_filter_skips_exactly_what_the_cursor_counted() -> None:
    cursor = Cursor(T0 + 2, 1)  # one of the two lines at T0+2 was shipped
    admit = LineFilter(cursor).admit
    assert [admit(ns) for ns in (T0 + 2, T0 + 2, T0 + 3)] == [False, True, True]
    assert (cursor.ns, cursor.seen) == (T0 + 3, 1)
    # Within one read, a line a little out of order (stderr vs stdout) is not a repeat.
    assert admit(T0 + 2) is True


async def test_first_session_ships_everything_after_a_source_announcement() -> None:
    shipper, _ = shipper_for(LINES)
    messages = await ship(shipper, {})
    assert messages[0] == {
        "type": "source", "id": "c1", "name": "web-1", "stack": "shop", "service": "web",
    }  # fmt: skip
    assert shipped(messages) == ["one", "two", "two-bis", "three", "four"]
    lines = messages[1]["lines"]
    assert lines[0] == ["c1", "stdout", T0 + 1, "one"] and lines[2][1] == "stderr"


async def test_resuming_from_a_cursor_loses_and_repeats_nothing() -> None:
    shipper, engine = shipper_for(LINES)
    # The server received "one" and "two" (the first of two lines at T0+2): cursor (T0+2, 1).
    messages = await ship(shipper, {"c1": Cursor(T0 + 2, 1)})
    assert shipped(messages) == ["two-bis", "three", "four"]
    assert engine.requests[-1]["since"] == Cursor(T0 + 2, 1).since_param()
    # Everything received: a new session ships nothing again.
    messages = await ship(shipper, {"c1": Cursor(T0 + 4, 1)})
    assert shipped(messages) == []


async def test_a_stopped_container_is_read_once_until_it_changes() -> None:
    shipper, engine = shipper_for(LINES)
    session = shipper.open({})
    shipper.watch_once()
    await asyncio.gather(*(s.task for s in shipper._sources.values() if s.task))
    shipper.watch_once()
    assert all(s.task is None for s in shipper._sources.values())
    assert len(engine.requests) == 1
    await shipper.close(session)


def test_buffer_is_bounded_by_lines_and_bytes_and_counts_drops() -> None:
    buffer = LogBuffer(max_lines=3, max_bytes=10)
    assert buffer.offer("a", "stdout", 1, "1234")
    assert buffer.offer("a", "stdout", 2, "5678")
    assert not buffer.offer("b", "stdout", 3, "too-long")  # bytes: 8 + 8 > 10
    assert buffer.offer("a", "stdout", 4, "9")
    assert not buffer.offer("a", "stdout", 5, "x")  # lines: 3 held
    buffer.announce({"type": "source", "id": "c"})  # announcements are never dropped
    assert len(buffer) == 4
    assert buffer.take_dropped() == {"b": 1, "a": 1} and buffer.dropped_total == 2
    assert buffer.take_dropped() == {}
    assert [e[3] for e in buffer.take(2)] == ["1234", "5678"]
    assert buffer.offer("a", "stdout", 6, "1234567")  # room again once taken


async def test_a_full_buffer_drops_and_the_status_reports_it() -> None:
    shipper, _ = shipper_for(LINES, LogBuffer(max_lines=2))
    messages = await ship(shipper, {})
    assert shipped(messages) == ["one", "two"]
    status = next(m for m in messages if m["type"] == "status")
    assert status["dropped"] == {"c1": 3}
