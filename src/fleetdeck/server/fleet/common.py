"""Helpers every fleet route uses: finding the fleet and the node link, relaying a stream.

Changes are audited with :func:`fleetdeck.server.audit.audited` (or ``audited_call``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fastapi.responses import StreamingResponse

from fleetdeck.errors import FleetdeckError
from fleetdeck.server.audit import INTERNAL, failure_text
from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.service import pick_node_link as pick_node_link

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from fastapi import Request

    from fleetdeck.server.fleet.service import Fleet


def fleet_of(request: Request) -> Fleet:
    """The running fleet (inventory, links, environments) of this server."""
    return context_of(request).fleet


async def ndjson_response(
    lines: AsyncIterator[str], finished: Callable[[str], Awaitable[None]] | None = None
) -> StreamingResponse:
    """Relay an agent's NDJSON stream (logs, progress) to the client.

    The first line is read before answering, so that an error the agent reports at once (an
    unknown container, an unreachable node) becomes a proper error response with its kind's
    status (and so the CLI's exit code); an error later in the stream can only be told
    in-band, as a last ``{"error": KIND, "message": TEXT}`` line.

    Args:
        lines: The agent's lines.
        finished: Called once with the outcome (``ok`` or ``error: …``, Docker's in-band
            errors included) when the stream ends or fails: for the audit entry of a change.
    """
    result = "ok"

    async def finish() -> None:
        if finished is not None:
            await finished(result)

    try:
        first: str | None = await anext(lines)
    except StopAsyncIteration:
        first = None
    except Exception as exc:
        result = failure_text(exc)
        await finish()
        raise

    async def relay() -> AsyncIterator[bytes]:
        nonlocal result
        try:
            if first is not None:
                result = _outcome(first, result)
                yield (first + "\n").encode()
            async for line in lines:
                result = _outcome(line, result)
                yield (line + "\n").encode()
        except FleetdeckError as exc:
            result = failure_text(exc)
            yield (json.dumps({"error": exc.kind, "message": exc.message}) + "\n").encode()
        except Exception:
            result = INTERNAL  # never "ok", nor the unknown error's text
            raise
        finally:
            await finish()

    return StreamingResponse(relay(), media_type="application/x-ndjson")


def _outcome(line: str, result: str) -> str:
    """``result`` after ``line``: an in-band ``{"error": …}`` (e.g. Docker's) makes it one."""
    if '"error"' not in line:
        return result
    try:
        item = json.loads(line)
    except ValueError:
        return result
    if isinstance(item, dict) and item.get("error"):
        return f"error: {item.get('message') or item['error']}"
    return result
