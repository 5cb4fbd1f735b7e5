"""The agent's HTTP API (aiohttp, served over mutual TLS): info, inventory stream, containers.

:func:`create_app` builds the whole app of the contract's "Agent API" table
(docs/dev/fleet-core.md); images, volumes, networks and Swarm routes live in
:mod:`fleetdeck.agent.api_resources`. The agent never exposes or proxies its engine's socket:
every route is one explicit operation on :class:`~fleetdeck.agent.engine.Engine`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web

from fleetdeck.agent import (
    api_containers_ops,
    api_logs,
    api_resources,
    api_stacks,
    api_swarm_stacks,
    console,
    volume_backup,
)
from fleetdeck.agent.api_support import (
    ENGINE,
    INVENTORY,
    ON_FORGET,
    error_middleware,
    path_middleware,
    query_bool,
    query_int,
    read_body,
    start_ndjson,
    stream_logs,
)
from fleetdeck.agent.engine import CONTAINER_ACTIONS
from fleetdeck.agent.tls import server_client_middleware
from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.wire.agent import UpgradeBody
from fleetdeck.wire.containers import ExecBody

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.agent.engine import Engine
    from fleetdeck.agent.inventory import ContainerInventory
    from fleetdeck.agent.logship import LogShipper


async def info(request: web.Request) -> web.Response:
    """``GET /v1/info``: the host and engine (engine_state says whether the engine answers)."""
    return web.json_response(request.app[INVENTORY].info.model_dump(mode="json"))


async def inventory_stream(request: web.Request) -> web.StreamResponse:
    """``GET /v1/inventory/stream``: snapshot, then changes and heartbeats, as NDJSON."""
    inventory = request.app[INVENTORY]
    subscription = inventory.subscribe(metrics_since=_query_time(request, "metrics_since"))
    try:
        response = await start_ndjson(request)
        async for line in subscription.lines():
            await response.write(line)
    except ConnectionError:
        pass  # the consumer went away; it will reconnect and get a new snapshot
    finally:
        inventory.unsubscribe(subscription)
    return response


def _query_time(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be an ISO 8601 time, not {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def inspect_container(request: web.Request) -> web.Response:
    """``GET /v1/containers/{id}``: Docker's raw inspect."""
    return web.json_response(await request.app[ENGINE].inspect_container(request.match_info["id"]))


async def _container_answer(request: web.Request, ref: str) -> web.Response:
    container = await request.app[ENGINE].container(ref)
    if container is not None:
        await request.app[INVENTORY].refresh_container(container.id)
    body = {"ok": True, "container": container.model_dump(mode="json") if container else None}
    return web.json_response(body)


async def container_action(request: web.Request) -> web.Response:
    """``POST /v1/containers/{id}/{action}``: start, stop, restart, kill, pause, unpause."""
    ref, action = request.match_info["id"], request.match_info["action"]
    if action not in CONTAINER_ACTIONS:
        raise NotFoundError(f"no container action {action!r}")
    await request.app[ENGINE].container_action(
        ref, action, timeout=query_int(request, "t"), signal=request.query.get("signal")
    )
    return await _container_answer(request, ref)


async def remove_container(request: web.Request) -> web.Response:
    """``DELETE /v1/containers/{id}?force=&volumes=``."""
    engine = request.app[ENGINE]
    force, volumes = query_bool(request, "force"), query_bool(request, "volumes")
    found = await engine.container(request.match_info["id"])
    if found is None:
        raise NotFoundError(f"no such container: {request.match_info['id']}")
    await engine.remove_container(found.id, force=force, volumes=volumes)
    await request.app[INVENTORY].refresh_container(found.id)
    return web.json_response({"ok": True, "container": None})


async def rename_container(request: web.Request) -> web.Response:
    """``POST /v1/containers/{id}/rename?name=NEW``."""
    name = request.query.get("name", "").strip()
    if not name:
        raise InvalidInputError("query parameter 'name' is required")
    ref = request.match_info["id"]
    await request.app[ENGINE].rename_container(ref, name)
    return await _container_answer(request, name)


async def container_logs(request: web.Request) -> web.StreamResponse:
    """``GET /v1/containers/{id}/logs``: NDJSON LogLines; ``follow`` keeps the answer open."""
    return await stream_logs(request, service=False)


async def container_stats(request: web.Request) -> web.Response:
    """``GET /v1/containers/{id}/stats``: a one-shot ContainerStats."""
    stats = await request.app[ENGINE].stats(request.match_info["id"])
    return web.json_response(stats.model_dump(mode="json"))


async def container_exec(request: web.Request) -> web.Response:
    """``POST /v1/containers/{id}/exec``: run a command, answer its output and exit code."""
    body = await read_body(request, ExecBody)
    result = await request.app[ENGINE].exec(
        request.match_info["id"], body.cmd, user=body.user, workdir=body.workdir, env=body.env
    )
    return web.json_response(result.model_dump(mode="json"))


async def forget(request: web.Request) -> web.Response:
    """``POST /v1/forget``: the server revoked this agent; drop credentials, stop serving."""
    await request.app[ON_FORGET]()
    return web.json_response({"ok": True})


async def upgrade(request: web.Request) -> web.Response:
    """``POST /v1/upgrade``: start moving to the server's build (:mod:`fleetdeck.agent.upgrade`).

    Answers at once with how (``mode``: ``service`` or ``container``); the host then moves
    or, if the new agent does not come back, stays on this one, without the server.
    """
    from fleetdeck.agent.upgrade import start_upgrade

    body = await read_body(request, UpgradeBody)
    return web.json_response(await start_upgrade(request.app[ENGINE], body), status=202)


async def _no_forget() -> None:
    return None


async def _end_streams(app: web.Application) -> None:
    """On shutdown (the listener is closed already): end the inventory streams now."""
    app[INVENTORY].end_subscriptions()


def create_app(
    engine: Engine,
    inventory: ContainerInventory,
    *,
    on_forget: Callable[[], Awaitable[None]] | None = None,
    require_server_cert: bool = True,
    shipper: LogShipper | None = None,
) -> web.Application:
    """The agent's aiohttp application.

    Args:
        engine: The engine every route operates on.
        inventory: The live inventory (started and stopped by the caller).
        on_forget: Called by ``POST /v1/forget`` to drop credentials and stop the agent.
        require_server_cert: Check that the TLS client is the fleetdeck server (only unit
            tests that serve plain HTTP turn this off).
        shipper: The log shipper behind ``POST /v1/logs/stream`` (none: no such route).
    """
    middlewares = [error_middleware]
    if require_server_cert:
        middlewares.append(server_client_middleware)
    middlewares.append(path_middleware)
    app = web.Application(middlewares=middlewares)
    app[ENGINE] = engine
    app[INVENTORY] = inventory
    app[ON_FORGET] = on_forget or _no_forget
    app.on_shutdown.append(_end_streams)
    app.router.add_get("/v1/info", info)
    app.router.add_get("/v1/inventory/stream", inventory_stream)
    app.router.add_get("/v1/containers/{id}", inspect_container)
    app.router.add_delete("/v1/containers/{id}", remove_container)
    app.router.add_get("/v1/containers/{id}/logs", container_logs)
    app.router.add_get("/v1/containers/{id}/stats", container_stats)
    app.router.add_post("/v1/containers/{id}/exec", container_exec)
    console.add_routes(app)
    app.router.add_post("/v1/containers/{id}/rename", rename_container)
    api_containers_ops.add_routes(app)
    app.router.add_post("/v1/containers/{id}/{action}", container_action)
    app.router.add_post("/v1/forget", forget)
    app.router.add_post("/v1/upgrade", upgrade)
    api_resources.add_routes(app)
    api_swarm_stacks.add_routes(app)
    if shipper is not None:
        api_logs.add_routes(app, shipper)
    api_stacks.add_routes(app)
    volume_backup.add_routes(app)
    return app
