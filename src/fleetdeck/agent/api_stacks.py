"""Agent routes for deploying Compose stacks on a plain host (``/v1/stacks/…``).

Each route is one explicit operation of :mod:`fleetdeck.agent.engine_stacks`; the agent never
proxies its engine's socket. The server's host applier is the only caller.

| route | what |
|---|---|
| ``GET /v1/stacks/projects/{project}`` | ``{containers: [inspect…], networks, volumes}`` |
| ``POST /v1/stacks/containers`` | ``{name, config, networks}`` → ``{id}`` (created, not started) |
| ``POST /v1/stacks/networks`` | Engine network body → the network (bridge subnets pinned) |
| ``POST /v1/stacks/networks/{net}/reconnect`` | ``{container, aliases, keep_address}`` |
| ``GET /v1/stacks/images?ref=`` | local image ``{id, repo_digests, repo_tags, user}`` or 404 |
| ``POST /v1/stacks/images/digest`` | ``{image, auth?}`` → ``{digest}`` from the registry |
| ``POST /v1/stacks/build?tag=&params=`` | body: the context as a tar (streamed) → ``{id, log}`` |
| ``PUT /v1/stacks/files/{stack}`` | ``{files: {key: base64}}`` → ``{paths: {key: host path}}`` |
| ``DELETE /v1/stacks/files/{stack}`` | ``{keep: [paths]}`` (optional) |
| ``GET /v1/stacks/ports`` | ``{tcp: [..], udp: [..]}`` ports in use on the host |
"""

from __future__ import annotations

import base64
import binascii
import json

from aiohttp import web

from fleetdeck.agent import engine_stacks as ops
from fleetdeck.agent.api_support import ENGINE, INVENTORY, read_body
from fleetdeck.errors import InvalidInputError
from fleetdeck.wire.agent import (
    FilesBody,
    HostDigestBody,
    PruneBody,
    ReconnectBody,
    StackContainerCreateBody,
)

#: Largest build context accepted (the server sends the stack directory's subtree). It comes as
#: the raw request body, read in chunks: the 1 MiB limit on JSON bodies does not apply to it.
MAX_CONTEXT_BYTES = 256 * 1024 * 1024
_BUILD_PARAMS = {"dockerfile", "target", "buildargs", "labels", "nocache", "pull"}


async def project(request: web.Request) -> web.Response:
    """Everything the project owns on this engine."""
    engine, name = request.app[ENGINE], request.match_info["project"]
    body = await ops.project_resources(engine, name)
    body["containers"] = await ops.project_containers(engine, name)
    return web.json_response(body)


async def create_container(request: web.Request) -> web.Response:
    """Create one container (not started)."""
    body = await read_body(request, StackContainerCreateBody)
    cid = await ops.create_container(request.app[ENGINE], body.name, body.config, body.networks)
    await request.app[INVENTORY].refresh_container(cid)
    return web.json_response({"id": cid}, status=201)


async def create_network(request: web.Request) -> web.Response:
    """Create a network."""
    raw = await request.json()
    if not isinstance(raw, dict) or not isinstance(raw.get("Name"), str):
        raise InvalidInputError("a network body needs a Name")
    return web.json_response(await ops.create_network(request.app[ENGINE], raw), status=201)


async def reconnect(request: web.Request) -> web.Response:
    """Swap a container's aliases on a network."""
    body = await read_body(request, ReconnectBody)
    await ops.reconnect(
        request.app[ENGINE],
        request.match_info["net"],
        body.container,
        body.aliases,
        body.keep_address,
    )
    return web.json_response({"ok": True})


async def image(request: web.Request) -> web.Response:
    """A local image."""
    ref = request.query.get("ref", "")
    if not ref:
        raise InvalidInputError("query parameter 'ref' is required")
    return web.json_response(await ops.image_inspect(request.app[ENGINE], ref))


async def image_digest(request: web.Request) -> web.Response:
    """The registry's digest of an image reference."""
    body = await read_body(request, HostDigestBody)
    auth = body.auth.model_dump() if body.auth else None
    digest = await ops.registry_digest(request.app[ENGINE], body.image, auth)
    return web.json_response({"digest": digest})


async def build(request: web.Request) -> web.Response:
    """Build an image from the tar context streamed as the request body."""
    tag = request.query.get("tag", "")
    if not tag:
        raise InvalidInputError("the build needs a tag (?tag=)")
    try:
        raw_params = json.loads(request.query.get("params") or "{}")
    except json.JSONDecodeError:
        raise InvalidInputError("params must be a JSON object") from None
    if not isinstance(raw_params, dict):
        raise InvalidInputError("params must be a JSON object")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 20):
        size += len(chunk)
        if size > MAX_CONTEXT_BYTES:
            raise InvalidInputError(f"build context larger than {MAX_CONTEXT_BYTES} bytes")
        chunks.append(chunk)
    params = {k: str(v) for k, v in raw_params.items() if k in _BUILD_PARAMS and v}
    result = await ops.build_image(request.app[ENGINE], b"".join(chunks), tag, params)
    return web.json_response(result)


async def put_files(request: web.Request) -> web.Response:
    """Write secret/config files for a stack."""
    body = await read_body(request, FilesBody)
    try:
        files = {k: base64.b64decode(v, validate=True) for k, v in body.files.items()}
    except binascii.Error:
        raise InvalidInputError("file contents must be base64") from None
    paths = ops.write_files(request.app[ENGINE], request.match_info["stack"], files)
    return web.json_response({"paths": paths})


async def delete_files(request: web.Request) -> web.Response:
    """Remove a stack's files (all, or all but ``keep``)."""
    body = await read_body(request, PruneBody)
    ops.prune_files(request.app[ENGINE], request.match_info["stack"], set(body.keep))
    return web.json_response({"ok": True})


async def ports(request: web.Request) -> web.Response:
    """Host ports in use."""
    return web.json_response(ops.listening_ports())


def add_routes(app: web.Application) -> None:
    """Register the stack routes."""
    app.router.add_get("/v1/stacks/projects/{project}", project)
    app.router.add_post("/v1/stacks/containers", create_container)
    app.router.add_post("/v1/stacks/networks", create_network)
    app.router.add_post("/v1/stacks/networks/{net}/reconnect", reconnect)
    app.router.add_get("/v1/stacks/images", image)
    app.router.add_post("/v1/stacks/images/digest", image_digest)
    app.router.add_post("/v1/stacks/build", build)
    app.router.add_put("/v1/stacks/files/{stack}", put_files)
    app.router.add_delete("/v1/stacks/files/{stack}", delete_files)
    app.router.add_get("/v1/stacks/ports", ports)
