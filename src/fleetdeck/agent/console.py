"""``GET /v1/containers/{id}/exec/ws``: an interactive exec over a websocket.

The web UI's console needs a real terminal (a shell with a TTY, keystrokes in, screen out,
window size changes); ``fleetdeck exec -i`` needs plain pipes with stdout and stderr apart
and an end of input. The frames are described in :mod:`fleetdeck.console_protocol`; the
server checks them and relays them unchanged.

The query gives the command: ``cmd`` (repeated, one argument each; default ``sh``), an
optional ``user``, ``tty`` and ``stdin`` (``0``/``1``, both default ``1``).

Every way a session ends closes both ends: the command exits (its output ends) → the exit
code, then the socket is closed; the client goes away → the engine stream is closed and the
command is left running, as ``docker exec`` leaves it when its client dies. A message that
fails validation is logged and skipped: it ends nothing.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import WSMsgType, web

from fleetdeck import console_protocol as proto
from fleetdeck.agent.api_support import ENGINE
from fleetdeck.errors import FleetdeckError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from aiodocker.execs import Exec
    from aiodocker.stream import Stream

    from fleetdeck.agent.engine import Engine

log = logging.getLogger("fleetdeck.agent.console")
DEFAULT_CMD = ("sh",)
MAX_ARGS = 32
MAX_ARG_CHARS = 4096


class _Session:
    """One exec: its engine stream, whether it has a TTY, and whether stdin is still open."""

    def __init__(self, execution: Exec, stream: Stream, *, tty: bool, stdin: bool) -> None:
        self.execution = execution
        self.stream = stream
        self.tty = tty
        self.stdin_open = stdin
        self.output_ended = False
        self.failure: str | None = None

    async def write(self, data: bytes) -> None:
        if self.stdin_open and data:
            await self.stream.write_in(data)

    def close_stdin(self) -> None:
        """Half-close the engine connection: the command reads end of file, output goes on."""
        if not self.stdin_open:
            return
        self.stdin_open = False
        # aiodocker has no half-close (its close() also drops the response); the hijacked
        # connection's transport does, as the docker CLI's CloseWrite does.
        response = self.stream._resp
        transport = response.connection.transport if response and response.connection else None
        if transport is not None and transport.can_write_eof():
            transport.write_eof()

    async def control(self, text: str) -> None:
        message = proto.parse_client_text(text)
        if isinstance(message, proto.Resize):
            with contextlib.suppress(Exception):  # a resize racing the exit is harmless
                await self.execution.resize(w=max(message.cols, 1), h=max(message.rows, 1))
        elif isinstance(message, proto.Input):
            await self.write(message.data.encode())
        else:
            self.close_stdin()


def _query(request: web.Request) -> tuple[list[str], str, bool, bool]:
    cmd = request.query.getall("cmd", []) or list(DEFAULT_CMD)
    if len(cmd) > MAX_ARGS or any(len(arg) > MAX_ARG_CHARS for arg in cmd):
        raise InvalidInputError(f"at most {MAX_ARGS} arguments of {MAX_ARG_CHARS} characters")
    user = request.query.get("user", "")[:256]
    tty = proto.flag(request.query.get("tty"), "tty", default=True)
    stdin = proto.flag(request.query.get("stdin"), "stdin", default=True)
    return cmd, user, tty, stdin


async def _open(engine: Engine, ref: str, request: web.Request) -> _Session:
    cmd, user, tty, stdin = _query(request)
    found = await engine.container(ref)
    if found is None:
        raise NotFoundError(f"no such container: {ref}")
    with engine.errors():
        container = engine.docker.containers.container(found.id)
        execution = await container.exec(cmd, stdin=stdin, tty=tty, user=user)
        stream = execution.start(detach=False, timeout=None)
        await stream._init()  # connect now, so that a failure is reported before any input
    return _Session(execution, stream, tty=tty, stdin=stdin)


async def _pump_out(session: _Session, ws: web.WebSocketResponse) -> None:
    while True:
        try:
            message = await session.stream.read_out()
        except (aiohttp.ClientError, OSError) as exc:
            session.failure = f"the engine's stream of the exec broke: {exc}"
            return
        if message is None:
            session.output_ended = True  # the command exited (or closed its output)
            return
        for frame in proto.output_frames(message.stream, message.data, tty=session.tty):
            await ws.send_bytes(frame)


async def _pump_in(session: _Session, ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        try:
            if msg.type == WSMsgType.BINARY:
                await session.write(proto.check_input(msg.data))
            elif msg.type == WSMsgType.TEXT:
                await session.control(msg.data)
            else:
                return
        except InvalidInputError as exc:
            log.warning("console: a message was refused and skipped: %s", exc.message)


async def _exit_code(engine: Engine, session: _Session) -> int | None:
    try:
        return await engine.exec_exit_code(session.execution.id)
    except (FleetdeckError, OSError, TimeoutError):
        return None  # the code is merely unknown: the client is told null


async def exec_ws(request: web.Request) -> web.WebSocketResponse:
    """Run ``cmd`` in the container and connect it to the websocket until either ends."""
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=2 * proto.MAX_INPUT_BYTES)
    await ws.prepare(request)
    engine = request.app[ENGINE]
    try:
        session = await _open(engine, request.match_info["id"], request)
    except FleetdeckError as exc:
        await ws.send_str(proto.error_text(exc.message, exc.kind))
        await ws.close()
        return ws
    try:
        await proto.until_first_ends(_pump_out(session, ws), _pump_in(session, ws))
    finally:
        await session.stream.close()
    if (session.output_ended or session.failure) and not ws.closed:
        end = (
            proto.error_text(session.failure)
            if session.failure
            else proto.control(proto.Exit(type="exit", code=await _exit_code(engine, session)))
        )
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(end)
    await ws.close()
    return ws


def add_routes(app: web.Application) -> None:
    """Register the console route (before the generic ``{action}`` route)."""
    app.router.add_get("/v1/containers/{id}/exec/ws", exec_ws)
