"""Docker's multiplexed output streams → (stream, bytes) frames and log lines.

Without a TTY, Docker interleaves stdout and stderr on one connection, each frame led by an
8-byte header (stream type, 3 zero bytes, big-endian length). Logs and exec output both use
it; these helpers turn it into whole lines that say which stream they came from.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fleetdeck.agent.convert import parse_time
from fleetdeck.wire.containers import LogLine

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp import StreamReader

_STREAM_NAMES = {0: "stdout", 1: "stdout", 2: "stderr"}
_HEADER_SIZE = 8


async def demultiplex(content: StreamReader, *, tty: bool) -> AsyncIterator[tuple[str, bytes]]:
    """Yield ``(stream, data)`` frames until the engine closes the stream."""
    if tty:
        async for chunk in content.iter_any():
            yield "stdout", chunk
        return
    while True:
        try:
            header = await content.readexactly(_HEADER_SIZE)
        except asyncio.IncompleteReadError:
            return
        size = int.from_bytes(header[4:8], "big")
        try:
            data = await content.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            data = exc.partial
        yield _STREAM_NAMES.get(header[0], "stdout"), data


async def lines(frames: AsyncIterator[tuple[str, bytes]]) -> AsyncIterator[tuple[str, str]]:
    """Reassemble frames into ``(stream, line)`` pairs, keeping each stream's partial line."""
    pending: dict[str, bytes] = {}
    async for stream, data in frames:
        buffer = pending.get(stream, b"") + data
        *complete, rest = buffer.split(b"\n")
        pending[stream] = rest
        for raw in complete:
            yield stream, raw.decode("utf-8", "replace").rstrip("\r")
    for stream, rest in pending.items():
        if rest:
            yield stream, rest.decode("utf-8", "replace").rstrip("\r")


def log_line(stream: str, text: str, *, timestamps: bool) -> LogLine:
    """A LogLine; with ``timestamps`` Docker prefixes each line with its RFC 3339 time."""
    if timestamps:
        stamp, _, rest = text.partition(" ")
        when = parse_time(stamp)
        if when is not None:
            return LogLine(stream=stream, time=when, line=rest)
    return LogLine(stream=stream, time=None, line=text)


async def log_lines(
    content: StreamReader, *, tty: bool, timestamps: bool
) -> AsyncIterator[LogLine]:
    """Yield LogLines from a ``/logs`` response body."""
    async for stream, text in lines(demultiplex(content, tty=tty)):
        yield log_line(stream, text, timestamps=timestamps)
