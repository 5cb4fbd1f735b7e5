"""Helpers every fleet route uses: finding the fleet, the node link, and auditing a change."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi.responses import StreamingResponse

from fleetdeck.errors import FleetdeckError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable

    from fastapi import Request

    from fleetdeck.server.auth.deps import Principal
    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.fleet.service import Fleet

T = TypeVar("T")


def fleet_of(request: Request) -> Fleet:
    """The running fleet (inventory, links, environments) of this server."""
    fleet: Fleet = request.app.state.fleet
    return fleet


async def audited(
    request: Request,
    principal: Principal,
    action: str,
    target: str,
    work: Awaitable[T],
    detail: dict[str, Any] | None = None,
) -> T:
    """Run ``work`` and write its audit entry (who, what, target, result) either way."""
    audit = request.app.state.audit
    try:
        result = await work
    except FleetdeckError as exc:
        await audit.record(principal.username, action, target, f"error: {exc.message}", detail)
        raise
    await audit.record(principal.username, action, target, "ok", detail)
    return result


def pick_node_link(fleet: Fleet, environment: str, node: str | None) -> AgentLink:
    """The link to ``node`` of ``environment``; ``node`` may be omitted for one-node envs."""
    fleet.require_environment(environment)
    links = fleet.links.of(environment)
    if node is not None:
        for link in links:
            if link.node == node:
                return link
        known = ", ".join(sorted(link.node for link in links)) or "none enrolled yet"
        raise NotFoundError(
            f"environment {environment!r} has no node {node!r}", hint=f"nodes: {known}"
        )
    if len(links) == 1:
        return links[0]
    if not links:
        raise NotFoundError(
            f"environment {environment!r} has no enrolled node yet",
            hint="run the agent command shown by `fleetdeck env show`",
        )
    raise InvalidInputError(
        f"environment {environment!r} has {len(links)} nodes: say which one",
        hint=f"pass node=… (one of {', '.join(sorted(link.node for link in links))})",
    )


async def ndjson_response(lines: AsyncIterator[str]) -> StreamingResponse:
    """Relay an agent's NDJSON stream (logs, progress) to the client.

    The first line is read before answering, so that an error the agent reports at once (an
    unknown container, an unreachable node) becomes a proper error response; an error later
    in the stream can only be told in-band, as a last ``{"error": …}`` line.
    """
    try:
        first: str | None = await anext(lines)
    except StopAsyncIteration:
        first = None

    async def relay() -> AsyncIterator[bytes]:
        if first is not None:
            yield (first + "\n").encode()
        try:
            async for line in lines:
                yield (line + "\n").encode()
        except FleetdeckError as exc:
            yield (json.dumps({"error": exc.kind, "message": exc.message}) + "\n").encode()

    return StreamingResponse(relay(), media_type="application/x-ndjson")
