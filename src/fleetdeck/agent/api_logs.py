"""``POST /v1/logs/stream``: the log shipper's NDJSON stream to the server (see logship)."""

from __future__ import annotations

from aiohttp import web

from fleetdeck.agent.api_support import ndjson_line, read_body, start_ndjson
from fleetdeck.agent.logship import Cursor, LogShipper
from fleetdeck.wire.agent import LogStreamBody

SHIPPER = web.AppKey("log_shipper", LogShipper)


async def logs_stream(request: web.Request) -> web.StreamResponse:
    """Ship every container's lines from the given cursors until the consumer goes away."""
    body = await read_body(request, LogStreamBody)
    shipper = request.app[SHIPPER]
    session = shipper.open({cid: Cursor(ns, seen) for cid, (ns, seen) in body.cursors.items()})
    try:
        response = await start_ndjson(request)
        async for message in shipper.messages(session):
            await response.write(ndjson_line(message))
    except ConnectionError:
        pass  # the server went away; it reconnects with the cursors of what it received
    finally:
        await shipper.close(session)
    return response


def add_routes(app: web.Application, shipper: LogShipper) -> None:
    """Serve the log stream of ``shipper`` on ``app``."""
    app[SHIPPER] = shipper
    app.router.add_post("/v1/logs/stream", logs_stream)
