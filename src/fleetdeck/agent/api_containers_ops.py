"""The agent's routes that make containers: create from a spec, recreate from an old one.

``POST /v1/containers`` and ``POST /v1/containers/{id}/recreate`` (registered before the
generic ``/{action}`` route, which would otherwise take ``recreate`` for an action name).
"""

from __future__ import annotations

from aiohttp import web

from fleetdeck.agent.api_support import ENGINE, INVENTORY, read_body
from fleetdeck.agent.engine_create import create_from_spec
from fleetdeck.agent.engine_recreate import recreate
from fleetdeck.wire.agent import ContainerCreateBody, RecreateBody


async def _answer(request: web.Request, cid: str, *gone: str) -> web.Response:
    inventory = request.app[INVENTORY]
    for old in gone:
        await inventory.refresh_container(old)
    await inventory.refresh_container(cid)
    container = await request.app[ENGINE].container(cid)
    body = {"ok": True, "container": container.model_dump(mode="json") if container else None}
    return web.json_response(body)


async def recreate_container(request: web.Request) -> web.Response:
    """``POST /v1/containers/{id}/recreate``: same config, new container (pulled first)."""
    body = await read_body(request, RecreateBody)
    engine = request.app[ENGINE]
    old = (await engine.inspect_container(request.match_info["id"]))["Id"]
    cid = await recreate(engine, old, pull=body.pull, auth=body.auth, timeout=body.timeout)
    return await _answer(request, cid, old)


async def create_container(request: web.Request) -> web.Response:
    """``POST /v1/containers``: create (and start) a container from a spec."""
    body = await read_body(request, ContainerCreateBody)
    cid = await create_from_spec(request.app[ENGINE], body.spec, body.auth)
    return await _answer(request, cid)


def add_routes(app: web.Application) -> None:
    """Register the routes (before ``/v1/containers/{id}/{action}``)."""
    app.router.add_post("/v1/containers", create_container)
    app.router.add_post("/v1/containers/{id}/recreate", recreate_container)
