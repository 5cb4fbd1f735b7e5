"""Reading agents' NDJSON streams defensively: a line-length cap, validation, counted rejects.

An agent is authenticated, but what it sends is still input: a compromised host keeps its
node's real certificate. One malformed line (``[]``) used to kill a node's link for good, and
one 300 MB line took the server from 150 to 680 MB. So every stream the server reads from an
agent goes through here:

* :func:`capped_lines` splits the byte stream into lines while it reads and never holds more
  than :data:`MAX_LINE_BYTES` of one line: the rest of a longer line is discarded as it
  arrives and the line is reported as too long (``None``);
* :func:`parse` validates a line against its pydantic model (``fleetdeck.wire.streams``);
* :class:`StreamRejects` counts what was refused, per stream, and logs it at most once per
  :data:`LOG_EVERY_S` per link, so a flood of bad lines cannot flood the log either.

A refused line is skipped; the stream goes on and later good lines apply.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, TypeVar

from pydantic import TypeAdapter, ValidationError

from fleetdeck.wire.containers import LogLine
from fleetdeck.wire.streams import LogStreamMessage, PullProgress

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

log = logging.getLogger("fleetdeck.server.links")
T = TypeVar("T")

#: The longest line read from an agent. The largest honest ones are an inventory snapshot
#: (about 3 KB a container) and a log batch (the agent bounds one at 4 Mi characters of text,
#: which JSON escaping can make a few times longer).
MAX_LINE_BYTES = 32 * 2**20
#: At most one log record per link and this many seconds about refused messages.
LOG_EVERY_S = 10.0
#: How much of a refusal's reason is logged (a validation error can quote its input).
REASON_CHARS = 300
#: A line of a container's or a service's output (``GET .../logs``).
LOG_LINE: TypeAdapter[LogLine] = TypeAdapter(LogLine)
#: A line of an image pull's progress (``POST /v1/images/pull``).
PULL_PROGRESS: TypeAdapter[PullProgress] = TypeAdapter(PullProgress)
#: A message of the log shipper's stream (``POST /v1/logs/stream``).
LOG_STREAM_MESSAGE: TypeAdapter[LogStreamMessage] = TypeAdapter(LogStreamMessage)


async def capped_lines(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[str | None]:
    """Yield each line of ``chunks`` (decoded, without its newline), or None if over ``limit``.

    Memory stays within ``limit`` plus one chunk however long a line is: once a line passes
    the limit its bytes are dropped as they arrive, up to its newline.
    """
    pending = bytearray()
    skipping = False
    async for chunk in chunks:
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not skipping:
                pending += piece
                if len(pending) > limit:
                    pending.clear()
                    skipping = True
            if end < 0:
                break
            if skipping:
                yield None
            else:
                yield pending.decode("utf-8", "replace").rstrip("\r")
            pending.clear()
            skipping = False
            start = end + 1
    if skipping:
        yield None
    elif pending:
        yield pending.decode("utf-8", "replace").rstrip("\r")


def parse(line: str, adapter: TypeAdapter[T]) -> T:
    """One line as its model; ValueError (JSON or validation) if it is not one.

    The error's text is short and says where the line is wrong (not pydantic's whole report,
    which can quote a large input).
    """
    try:
        return adapter.validate_python(json.loads(line))
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)[:3]
        )
        raise ValueError(f"not a valid message ({where})") from None
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None


class StreamRejects:
    """What one link's agent streams sent that the server refused: counted, logged sparingly.

    Args:
        where: ``ENV/NODE`` for the log.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        #: Refused messages by stream name (``inventory``, ``logs``, ``pull``…).
        self.counts: dict[str, int] = {}
        self._logged_at: float | None = None
        self._unlogged = 0

    @property
    def total(self) -> int:
        """Refused messages on every stream."""
        return sum(self.counts.values())

    def reject(self, stream: str, reason: str) -> None:
        """Count one refused message of ``stream`` and log it unless one was logged lately."""
        self.counts[stream] = self.counts.get(stream, 0) + 1
        now = time.monotonic()
        if self._logged_at is not None and now - self._logged_at < LOG_EVERY_S:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more not logged)" if self._unlogged else ""
        log.warning(
            "link %s: a message on the %s stream was refused and skipped: %s; %d refused in all%s",
            self.where,
            stream,
            " ".join(reason.split())[:REASON_CHARS],
            self.total,
            more,
        )
        self._logged_at, self._unlogged = now, 0
