"""``GET /v1/containers/{id}/exec/ws``: an interactive exec with a TTY, over a websocket.

The web UI's console needs a real terminal: a shell with a TTY, keystrokes in, screen out,
and window size changes. The protocol on the socket is small and the same on the server's
side (which relays it to the browser unchanged):

* binary frames carry terminal bytes, both ways (keystrokes in, output out);
* text frames carry JSON control messages: ``{"type": "resize", "cols": C, "rows": R}``
  from the client; ``{"type": "exit", "code": N}`` or ``{"type": "error", "message": M}``
  from the agent, just before it closes the socket.

The query gives the command: ``cmd`` (repeated, one argument each; default ``sh``) and an
optional ``user``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from fleetdeck.agent.api_support import ENGINE
from fleetdeck.errors import FleetdeckError, NotFoundError

if TYPE_CHECKING:
    from aiodocker.execs import Exec
    from aiodocker.stream import Stream

    from fleetdeck.agent.engine import Engine

log = logging.getLogger("fleetdeck.agent.console")
DEFAULT_CMD = ("sh",)


async def _open(engine: Engine, ref: str, cmd: list[str], user: str) -> tuple[Exec, Stream]:
    found = await engine.container(ref)
    if found is None:
        raise NotFoundError(f"no such container: {ref}")
    with engine.errors():
        container = engine.docker.containers.container(found.id)
        execution = await container.exec(cmd, stdin=True, tty=True, user=user)
        stream = execution.start(detach=False, timeout=None)
        await stream._init()  # connect now, so that a failure is reported before any input
    return execution, stream


async def _pump_out(stream: Stream, ws: web.WebSocketResponse) -> None:
    while True:
        message = await stream.read_out()
        if message is None:
            return
        await ws.send_bytes(message.data)


async def _pump_in(stream: Stream, execution: Exec, ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type == WSMsgType.BINARY:
            await stream.write_in(msg.data)
        elif msg.type == WSMsgType.TEXT:
            await _control(execution, stream, msg.data)
        else:
            return


async def _control(execution: Exec, stream: Stream, text: str) -> None:
    try:
        control: dict[str, Any] = json.loads(text)
    except ValueError:
        return
    if control.get("type") == "resize":
        cols, rows = int(control.get("cols", 80)), int(control.get("rows", 24))
        with contextlib.suppress(Exception):  # a resize racing the exit is harmless
            await execution.resize(w=max(cols, 1), h=max(rows, 1))
    elif control.get("type") == "input":
        await stream.write_in(str(control.get("data", "")).encode())


async def exec_ws(request: web.Request) -> web.WebSocketResponse:
    """Run ``cmd`` in the container with a TTY and connect it to the websocket."""
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    cmd = request.query.getall("cmd", []) or list(DEFAULT_CMD)
    engine = request.app[ENGINE]
    try:
        execution, stream = await _open(
            engine, request.match_info["id"], cmd, request.query.get("user", "")
        )
    except FleetdeckError as exc:
        await ws.send_str(json.dumps({"type": "error", "message": exc.message}))
        await ws.close()
        return ws
    tasks = [
        asyncio.create_task(_pump_out(stream, ws)),
        asyncio.create_task(_pump_in(stream, execution, ws)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await stream.close()
    if not ws.closed:
        code = None
        with contextlib.suppress(Exception):
            code = (await execution.inspect()).get("ExitCode")
        await ws.send_str(json.dumps({"type": "exit", "code": code}))
        await ws.close()
    return ws


def add_routes(app: web.Application) -> None:
    """Register the console route (before the generic ``{action}`` route)."""
    app.router.add_get("/v1/containers/{id}/exec/ws", exec_ws)
