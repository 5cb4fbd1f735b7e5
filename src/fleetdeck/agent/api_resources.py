"""Agent API routes for images, volumes, networks and Swarm (see docs/dev/fleet-core.md).

Swarm objects are answered as Docker's raw JSON; the routes answer 409 ``conflict`` on an
engine that is not a Swarm manager.
"""

from __future__ import annotations

from aiohttp import web

from fleetdeck.agent.api_support import (
    ENGINE,
    ndjson_line,
    query_bool,
    read_body,
    start_ndjson,
    stream_error_line,
    stream_logs,
)
from fleetdeck.errors import FleetdeckError
from fleetdeck.wire.agent import (
    ConnectBody,
    NetworkBody,
    NodeUpdateBody,
    PullBody,
    ScaleBody,
    ServiceImageBody,
    VolumeBody,
)


def _ok(**fields: object) -> web.Response:
    return web.json_response({"ok": True, **fields})


# --------------------------------------------------------------------- images
async def list_images(request: web.Request) -> web.Response:
    """``GET /v1/images``: list of ImageInfo."""
    images = await request.app[ENGINE].list_images()
    return web.json_response([i.model_dump(mode="json") for i in images])


async def pull_image(request: web.Request) -> web.StreamResponse:
    """``POST /v1/images/pull``: Docker's progress objects as NDJSON, then a done line."""
    body = await read_body(request, PullBody)
    auth = body.auth.model_dump() if body.auth else None
    async with request.app[ENGINE].pull_image(body.image, auth) as progress:
        response = await start_ndjson(request)
        try:
            async for item in progress:
                if item.get("error"):
                    await response.write(ndjson_line({"error": item["error"]}))
                    return response
                await response.write(ndjson_line(item))
        except FleetdeckError as exc:
            await response.write(stream_error_line(exc))
            return response
        except ConnectionError:
            return response
        await response.write(ndjson_line({"status": "done", "image": body.image}))
    return response


async def remove_image(request: web.Request) -> web.Response:
    """``DELETE /v1/images/{ref}?force=``."""
    deleted = await request.app[ENGINE].remove_image(
        request.match_info["ref"], force=query_bool(request, "force")
    )
    return _ok(deleted=deleted)


async def prune_images(request: web.Request) -> web.Response:
    """``POST /v1/images/prune[?all=true]``: dangling images (all unused with ``all``)."""
    dangling_only = not query_bool(request, "all")
    return web.json_response(await request.app[ENGINE].prune_images(dangling_only=dangling_only))


# -------------------------------------------------------------------- volumes
async def list_volumes(request: web.Request) -> web.Response:
    """``GET /v1/volumes[?size=true]``: list of VolumeInfo (sizes measured only when asked)."""
    volumes = await request.app[ENGINE].list_volumes(size=query_bool(request, "size"))
    return web.json_response([v.model_dump(mode="json") for v in volumes])


async def create_volume(request: web.Request) -> web.Response:
    """``POST /v1/volumes``: VolumeInfo of the new volume."""
    body = await read_body(request, VolumeBody)
    volume = await request.app[ENGINE].create_volume(body.name, body.driver, body.labels)
    return web.json_response(volume.model_dump(mode="json"), status=201)


async def remove_volume(request: web.Request) -> web.Response:
    """``DELETE /v1/volumes/{name}?force=``."""
    await request.app[ENGINE].remove_volume(
        request.match_info["name"], force=query_bool(request, "force")
    )
    return _ok()


async def prune_volumes(request: web.Request) -> web.Response:
    """``POST /v1/volumes/prune``."""
    return web.json_response(await request.app[ENGINE].prune_volumes())


# ------------------------------------------------------------------- networks
async def list_networks(request: web.Request) -> web.Response:
    """``GET /v1/networks``: list of NetworkInfo."""
    networks = await request.app[ENGINE].list_networks()
    return web.json_response([n.model_dump(mode="json") for n in networks])


async def create_network(request: web.Request) -> web.Response:
    """``POST /v1/networks``: NetworkInfo of the new network."""
    body = await read_body(request, NetworkBody)
    network = await request.app[ENGINE].create_network(
        body.name, driver=body.driver, labels=body.labels, attachable=body.attachable
    )
    return web.json_response(network.model_dump(mode="json"), status=201)


async def remove_network(request: web.Request) -> web.Response:
    """``DELETE /v1/networks/{id}``."""
    await request.app[ENGINE].remove_network(request.match_info["id"])
    return _ok()


async def prune_networks(request: web.Request) -> web.Response:
    """``POST /v1/networks/prune``."""
    return web.json_response(await request.app[ENGINE].prune_networks())


async def connect_network(request: web.Request) -> web.Response:
    """``POST /v1/networks/{id}/connect`` ``{container}``."""
    body = await read_body(request, ConnectBody)
    await request.app[ENGINE].connect_network(request.match_info["id"], body.container)
    return _ok()


async def disconnect_network(request: web.Request) -> web.Response:
    """``POST /v1/networks/{id}/disconnect`` ``{container, force?}``."""
    body = await read_body(request, ConnectBody)
    await request.app[ENGINE].disconnect_network(
        request.match_info["id"], body.container, force=body.force
    )
    return _ok()


# ---------------------------------------------------------------------- swarm
async def swarm_nodes(request: web.Request) -> web.Response:
    """``GET /v1/swarm/nodes``: Docker's node objects."""
    return web.json_response(await request.app[ENGINE].swarm_nodes())


async def update_swarm_node(request: web.Request) -> web.Response:
    """``POST /v1/swarm/nodes/{id}`` ``{availability?, labels?}``: the updated node."""
    body = await read_body(request, NodeUpdateBody)
    node = await request.app[ENGINE].update_swarm_node(
        request.match_info["id"], availability=body.availability, labels=body.labels
    )
    return web.json_response(node)


async def services(request: web.Request) -> web.Response:
    """``GET /v1/swarm/services``: Docker's service objects (with ServiceStatus)."""
    return web.json_response(await request.app[ENGINE].services())


async def service(request: web.Request) -> web.Response:
    """``GET /v1/swarm/services/{id}``."""
    return web.json_response(await request.app[ENGINE].service(request.match_info["id"]))


async def scale_service(request: web.Request) -> web.Response:
    """``POST /v1/swarm/services/{id}/scale`` ``{replicas}``."""
    body = await read_body(request, ScaleBody)
    warnings = await request.app[ENGINE].scale_service(request.match_info["id"], body.replicas)
    return _ok(warnings=warnings)


async def service_image(request: web.Request) -> web.Response:
    """``POST /v1/swarm/services/{id}/image`` ``{image}``."""
    body = await read_body(request, ServiceImageBody)
    warnings = await request.app[ENGINE].set_service_image(request.match_info["id"], body.image)
    return _ok(warnings=warnings)


async def rollback_service(request: web.Request) -> web.Response:
    """``POST /v1/swarm/services/{id}/rollback``."""
    warnings = await request.app[ENGINE].rollback_service(request.match_info["id"])
    return _ok(warnings=warnings)


async def remove_service(request: web.Request) -> web.Response:
    """``DELETE /v1/swarm/services/{id}``."""
    await request.app[ENGINE].remove_service(request.match_info["id"])
    return _ok()


async def service_tasks(request: web.Request) -> web.Response:
    """``GET /v1/swarm/services/{id}/tasks``: Docker's task objects."""
    return web.json_response(await request.app[ENGINE].service_tasks(request.match_info["id"]))


async def service_logs(request: web.Request) -> web.StreamResponse:
    """``GET /v1/swarm/services/{id}/logs?tail=&follow=``: NDJSON LogLines."""
    return await stream_logs(request, service=True)


def add_routes(app: web.Application) -> None:
    """Register the image, volume, network and Swarm routes."""
    r = app.router
    r.add_get("/v1/images", list_images)
    r.add_post("/v1/images/pull", pull_image)
    r.add_post("/v1/images/prune", prune_images)
    r.add_delete("/v1/images/{ref:.+}", remove_image)
    r.add_get("/v1/volumes", list_volumes)
    r.add_post("/v1/volumes", create_volume)
    r.add_post("/v1/volumes/prune", prune_volumes)
    r.add_delete("/v1/volumes/{name}", remove_volume)
    r.add_get("/v1/networks", list_networks)
    r.add_post("/v1/networks", create_network)
    r.add_post("/v1/networks/prune", prune_networks)
    r.add_delete("/v1/networks/{id}", remove_network)
    r.add_post("/v1/networks/{id}/connect", connect_network)
    r.add_post("/v1/networks/{id}/disconnect", disconnect_network)
    r.add_get("/v1/swarm/nodes", swarm_nodes)
    r.add_post("/v1/swarm/nodes/{id}", update_swarm_node)
    r.add_get("/v1/swarm/services", services)
    r.add_get("/v1/swarm/services/{id}", service)
    r.add_delete("/v1/swarm/services/{id}", remove_service)
    r.add_post("/v1/swarm/services/{id}/scale", scale_service)
    r.add_post("/v1/swarm/services/{id}/image", service_image)
    r.add_post("/v1/swarm/services/{id}/rollback", rollback_service)
    r.add_get("/v1/swarm/services/{id}/tasks", service_tasks)
    r.add_get("/v1/swarm/services/{id}/logs", service_logs)
