"""``WS /api/v1/containers/{ref}/console``: an interactive session in a container.

The browser's terminal widget connects here with its session cookie (and must come from this
server's origin), ``fleetdeck exec -i/-t`` with ``Authorization: Bearer`` and no ``Origin``;
the server checks the operator role, writes an audit entry, and relays frames both ways to
the agent's ``/v1/containers/{id}/exec/ws`` over the mutual-TLS link, checking each against
:mod:`fleetdeck.console_protocol` (which describes the frames and the ``tty``/``stdin``
query flags).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fastapi import APIRouter, Request, WebSocket
from websockets.exceptions import ConnectionClosedError, WebSocketException

from fleetdeck import console_protocol as proto
from fleetdeck.errors import (
    FleetdeckError,
    InvalidInputError,
    NodeUnreachableError,
    PermissionDeniedError,
)
from fleetdeck.server.auth.deps import authenticate
from fleetdeck.server.auth.origin import check_not_cross_site
from fleetdeck.server.context import Ctx, context_of  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from fleetdeck.server.auth.principal import Principal
    from fleetdeck.server.fleet.links import AgentLink

router = APIRouter(tags=["containers"])
MAX_ARGS = 32


def _check_origin(websocket: WebSocket) -> None:
    """Refuse a page of another origin (cross-site WebSocket hijacking), cookie or not."""
    try:
        check_not_cross_site(websocket, context_of(websocket).settings.allowed_origins)
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


class _Relay:
    """Both directions of one session, each message checked (see console_protocol).

    A client message that fails the check ends the session with an error naming it (the
    agent never sees it); an agent message that fails it is counted on the link's rejects
    and skipped. When the agent's socket closes without an exit or error message, the link
    was lost, and the client is told so with the ``node_unreachable`` kind.
    """

    def __init__(
        self, websocket: WebSocket, upstream: ClientConnection, *, tty: bool, link: AgentLink
    ) -> None:
        self.websocket = websocket
        self.upstream = upstream
        self.tty = tty
        self.link = link
        self.ended = False  # the agent sent exit or error

    async def agent_to_client(self) -> None:
        try:
            async for message in self.upstream:
                await self._forward(message)
        except ConnectionClosedError:
            pass
        if not self.ended:
            raise NodeUnreachableError(f"lost the link to the agent of {self.link.where}")

    async def _forward(self, message: str | bytes) -> None:
        try:
            if isinstance(message, bytes):
                await self.websocket.send_bytes(proto.check_output(message, tty=self.tty))
                return
            proto.parse_agent_text(message)
        except InvalidInputError as exc:
            self.link.rejects.reject("console", exc.message)
            return
        self.ended = True
        await self.websocket.send_text(message)

    async def client_to_agent(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await self.upstream.send(proto.check_input(message["bytes"]))
            elif message.get("text") is not None:
                proto.parse_client_text(message["text"])
                await self.upstream.send(message["text"])

    async def run(self) -> None:
        """Relay until either side ends; raise what ended it abnormally."""
        done = await proto.until_first_ends(self.agent_to_client(), self.client_to_agent())
        for task in done:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc


def _mode(websocket: WebSocket) -> tuple[list[str], str, bool, bool]:
    query = websocket.query_params
    cmd = query.getlist("cmd")[:MAX_ARGS] or ["sh"]
    tty = proto.flag(query.get("tty"), "tty", default=True)
    stdin = proto.flag(query.get("stdin"), "stdin", default=True)
    return cmd, query.get("user") or "", tty, stdin


@router.websocket("/containers/{ref:path}/console")
async def console(websocket: WebSocket, ctx: Ctx, ref: str) -> None:
    """Relay a session between the client (UI terminal or CLI) and the container's agent."""
    await websocket.accept()
    try:
        principal = await _principal(websocket)
        cmd, user, tty, stdin = _mode(websocket)
        fleet = ctx.fleet
        container = fleet.resolve(ref)
        link = fleet.links.get(container.environment, container.node)
        target = f"{container.environment}/{container.node}/{container.name}"
        params = [("cmd", c) for c in cmd] + ([("user", user)] if user else [])
        params += [("tty", str(int(tty))), ("stdin", str(int(stdin)))]
        async with link.agent.console(container.id, params) as upstream:
            await ctx.audit.record(
                principal.username,
                "container.console",
                target,
                "ok",
                {"cmd": cmd, "tty": tty, "stdin": stdin},
            )
            await _Relay(websocket, upstream, tty=tty, link=link).run()
    except FleetdeckError as exc:
        await _send_error(websocket, exc.message, exc.kind)
    except (WebSocketException, OSError, TimeoutError) as exc:
        await _send_error(websocket, f"cannot reach the agent: {exc}", NodeUnreachableError.kind)
    await _close(websocket)


async def _send_error(websocket: WebSocket, message: str, kind: str) -> None:
    try:
        await websocket.send_text(proto.error_text(message, kind))
    except (RuntimeError, OSError):
        pass  # the browser went away first


async def _close(websocket: WebSocket) -> None:
    try:
        await websocket.close()
    except (RuntimeError, OSError):
        pass
