"""Helpers every fleet route uses: finding the fleet, the node link, and auditing a change."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi.responses import StreamingResponse

from fleetdeck.errors import FleetdeckError
from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.service import pick_node_link as pick_node_link

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from fastapi import Request

    from fleetdeck.server.auth.deps import Principal
    from fleetdeck.server.fleet.service import Fleet

T = TypeVar("T")


def fleet_of(request: Request) -> Fleet:
    """The running fleet (inventory, links, environments) of this server."""
    return context_of(request).fleet


async def audited(
    request: Request,
    principal: Principal,
    action: str,
    target: str,
    work: Awaitable[T],
    detail: dict[str, Any] | None = None,
) -> T:
    """Run ``work`` and write its audit entry (who, what, target, result) either way."""
    audit = context_of(request).audit
    try:
        result = await work
    except FleetdeckError as exc:
        await audit.record(principal.username, action, target, f"error: {exc.message}", detail)
        raise
    await audit.record(principal.username, action, target, "ok", detail)
    return result


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
    except FleetdeckError as exc:
        result = f"error: {exc.message}"
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
            result = f"error: {exc.message}"
            yield (json.dumps({"error": exc.kind, "message": exc.message}) + "\n").encode()
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
