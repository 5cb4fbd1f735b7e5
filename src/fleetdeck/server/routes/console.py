"""``WS /api/v1/containers/{ref}/console``: an interactive terminal in a container.

The browser's terminal widget connects here with its session cookie; the server checks the
operator role, writes an audit entry, and relays frames both ways to the agent's
``/v1/containers/{id}/exec/ws`` over the mutual-TLS link (see
:mod:`fleetdeck.agent.console` for the frame protocol, which passes through unchanged).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, cast

from fastapi import APIRouter, Request, WebSocket
from websockets.exceptions import WebSocketException

from fleetdeck.errors import FleetdeckError, PermissionDeniedError
from fleetdeck.server.auth.deps import authenticate
from fleetdeck.server.auth.origin import check_not_cross_site
from fleetdeck.server.fleet.agent_paths import agent_path
from fleetdeck.types import Role

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from fleetdeck.server.auth.principal import Principal
    from fleetdeck.server.fleet.service import Fleet

router = APIRouter(tags=["containers"])
MAX_ARGS = 32


def _check_origin(websocket: WebSocket) -> None:
    """Refuse a page of another origin (cross-site WebSocket hijacking), cookie or not."""
    try:
        check_not_cross_site(websocket, websocket.app.state.settings.trusted_origins)
    except PermissionDeniedError as exc:
        raise PermissionDeniedError(
            "the console only accepts connections from this server's UI", hint=exc.hint
        ) from None


async def _principal(websocket: WebSocket) -> Principal:
    _check_origin(websocket)
    # A WebSocket has everything authenticate() reads (headers, cookies, app, state).
    principal = await authenticate(cast("Request", websocket))
    if not principal.role.allows(Role.operator):
        raise PermissionDeniedError(
            f"the console needs the operator role; you have {principal.role}"
        )
    return principal


async def _agent_to_browser(upstream: ClientConnection, websocket: WebSocket) -> None:
    async for message in upstream:
        if isinstance(message, bytes):
            await websocket.send_bytes(message)
        else:
            await websocket.send_text(message)


async def _browser_to_agent(websocket: WebSocket, upstream: ClientConnection) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            await upstream.send(message["bytes"])
        elif message.get("text") is not None:
            await upstream.send(message["text"])


async def _relay(websocket: WebSocket, upstream: ClientConnection) -> None:
    tasks = [
        asyncio.create_task(_agent_to_browser(upstream, websocket)),
        asyncio.create_task(_browser_to_agent(websocket, upstream)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@router.websocket("/containers/{ref:path}/console")
async def console(websocket: WebSocket, ref: str) -> None:
    """Relay a terminal session between the browser and the container's agent."""
    await websocket.accept()
    cmd = websocket.query_params.getlist("cmd")[:MAX_ARGS] or ["sh"]
    user = websocket.query_params.get("user") or ""
    try:
        principal = await _principal(websocket)
        fleet: Fleet = websocket.app.state.fleet
        container = fleet.resolve(ref)
        link = fleet.links.get(container.environment, container.node)
        target = f"{container.environment}/{container.node}/{container.name}"
        params = [("cmd", c) for c in cmd] + ([("user", user)] if user else [])
        async with link.websocket(
            agent_path("containers", container.id, "exec", "ws"), params
        ) as upstream:
            await websocket.app.state.audit.record(
                principal.username, "container.console", target, "ok", {"cmd": cmd}
            )
            await _relay(websocket, upstream)
    except FleetdeckError as exc:
        await _send_error(websocket, exc.message)
    except (WebSocketException, OSError, TimeoutError) as exc:
        await _send_error(websocket, f"cannot reach the agent: {exc}")
    await _close(websocket)


async def _send_error(websocket: WebSocket, message: str) -> None:
    try:
        await websocket.send_text(json.dumps({"type": "error", "message": message}))
    except (RuntimeError, OSError):
        pass  # the browser went away first


async def _close(websocket: WebSocket) -> None:
    try:
        await websocket.close()
    except (RuntimeError, OSError):
        pass
