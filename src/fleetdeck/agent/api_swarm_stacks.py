"""Agent routes for deploying stacks to a Swarm: services, overlay networks, secrets, configs.

The server's Swarm stack applier works through these explicit operations on a manager (the
agent never proxies its engine socket). Every object these routes create or change must carry
the stack label ``com.docker.stack.namespace``, so they can only touch stack objects, never an
operator's hand-made services. Secret values arrive base64-encoded in the body; they go to the
engine and nowhere else (never logged, never answered).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

import fleetdeck.labels
from fleetdeck.agent.api_support import ENGINE, read_body
from fleetdeck.agent.engine_resources import registry_auth_header
from fleetdeck.agent.swarm_summary import summarize_service, summarize_task
from fleetdeck.errors import InvalidInputError
from fleetdeck.wire.agent import (
    DataBody,
    NetworkSpecBody,
    RegistryAuth,
    ServiceCreateBody,
    ServiceUpdateBody,
    SwarmDigestBody,
)

#: The label ``docker stack`` puts on every object of a stack (and reads back).
NAMESPACE = fleetdeck.labels.STACK_NAMESPACE
#: The label fleetdeck's Swarm applier puts on the services it deploys.
FINGERPRINT = fleetdeck.labels.FLEETDECK_FINGERPRINT
_KINDS = ("secrets", "configs")


def _auth_headers(auth: RegistryAuth | None) -> dict[str, str] | None:
    return registry_auth_header(auth.model_dump()) if auth is not None else None


def _require_namespace(labels: dict[str, Any] | None, what: str) -> str:
    namespace = (labels or {}).get(NAMESPACE)
    if not isinstance(namespace, str) or not namespace:
        raise InvalidInputError(f"a stack {what} must carry the label {NAMESPACE}")
    return namespace


def _ns_filter(namespace: str) -> dict[str, list[str]]:
    return {"label": [f"{NAMESPACE}={namespace}"]}


async def stack_objects(request: web.Request) -> web.Response:
    """``GET /v1/swarm/stacks/{namespace}``: its services, tasks, networks; secrets, configs."""
    engine = request.app[ENGINE]
    namespace = request.match_info["namespace"]
    params = {"filters": _ns_filter(namespace)}
    services: list[dict[str, Any]] = await engine.request(
        "GET", "services", params={**params, "status": True}, swarm=True
    )
    tasks: list[dict[str, Any]] = []
    if services:
        task_filter = {"service": [s["ID"] for s in services]}
        tasks = await engine.request("GET", "tasks", params={"filters": task_filter}, swarm=True)
    nodes: list[dict[str, Any]] = await engine.request("GET", "nodes", swarm=True)
    hostnames = {n["ID"]: (n.get("Description") or {}).get("Hostname", "") for n in nodes}
    networks = await engine.request("GET", "networks", params=params)
    # Every secret and config (metadata only): external ones are looked up by name.
    secrets = await engine.request("GET", "secrets", swarm=True)
    configs = await engine.request("GET", "configs", swarm=True)
    body = {
        "namespace": namespace,
        "services": [summarize_service(s) for s in services],
        "tasks": [summarize_task(t, hostnames) for t in tasks],
        "networks": [n for n in networks if (n.get("Scope") == "swarm")],
        # Secrets never carry data in Docker's answer; configs do, and the server needs none.
        "secrets": [_strip_data(s) for s in secrets],
        "configs": [_strip_data(c) for c in configs],
        "nodes": len(nodes),
        # Hostname → the manager's view of each node (ready, down…): a task on a down node
        # never reports back, and Swarm's updater waits for it forever.
        "node_states": {
            hostnames[n["ID"]] or n["ID"]: (n.get("Status") or {}).get("State", "") for n in nodes
        },
    }
    return web.json_response(body)


def _strip_data(obj: dict[str, Any]) -> dict[str, Any]:
    spec = {k: v for k, v in (obj.get("Spec") or {}).items() if k != "Data"}
    return {**obj, "Spec": spec}


async def list_stacks(request: web.Request) -> web.Response:
    """``GET /v1/swarm/stacks``: every stack namespace, its services, whether fleetdeck made it."""
    engine = request.app[ENGINE]
    services: list[dict[str, Any]] = await engine.request(
        "GET", "services", params={"filters": {"label": [NAMESPACE]}}, swarm=True
    )
    stacks: dict[str, list[str]] = {}
    by_fleetdeck: set[str] = set()
    for service in services:
        spec = service.get("Spec") or {}
        labels = spec.get("Labels") or {}
        namespace = labels.get(NAMESPACE)
        if namespace:
            stacks.setdefault(namespace, []).append(str(spec.get("Name", "")))
            if FINGERPRINT in labels:
                by_fleetdeck.add(namespace)
    answer = [
        {"namespace": ns, "services": sorted(names), "fleetdeck": ns in by_fleetdeck}
        for ns, names in sorted(stacks.items())
    ]
    return web.json_response(answer)


async def create_service(request: web.Request) -> web.Response:
    """``POST /v1/swarm/stacks/services``: create; answer ``{id, warnings}``."""
    body = await read_body(request, ServiceCreateBody)
    _require_namespace(body.spec.get("Labels"), "service")
    answer = await request.app[ENGINE].request(
        "POST", "services/create", body=body.spec, headers=_auth_headers(body.auth), swarm=True
    )
    result = {"id": answer.get("ID", ""), "warnings": answer.get("Warnings") or []}
    return web.json_response(result, status=201)


async def update_service(request: web.Request) -> web.Response:
    """``POST /v1/swarm/stacks/services/{id}/update``: replace the spec at ``version``."""
    body = await read_body(request, ServiceUpdateBody)
    _require_namespace(body.spec.get("Labels"), "service")
    engine = request.app[ENGINE]
    ref = request.match_info["id"]
    current = await engine.request("GET", f"services/{ref}", swarm=True)
    _require_namespace((current.get("Spec") or {}).get("Labels"), "service")
    answer = await engine.request(
        "POST",
        f"services/{current['ID']}/update",
        params={"version": body.version},
        body=body.spec,
        headers=_auth_headers(body.auth),
        swarm=True,
    )
    return web.json_response({"warnings": (answer or {}).get("Warnings") or []})


async def remove_service(request: web.Request) -> web.Response:
    """``DELETE /v1/swarm/stacks/services/{id}``: only a stack's service."""
    engine = request.app[ENGINE]
    current = await engine.request("GET", f"services/{request.match_info['id']}", swarm=True)
    _require_namespace((current.get("Spec") or {}).get("Labels"), "service")
    await engine.request("DELETE", f"services/{current['ID']}", swarm=True)
    return web.json_response({"ok": True})


async def create_network(request: web.Request) -> web.Response:
    """``POST /v1/swarm/stacks/networks``: a swarm-scoped network; answer ``{id}``."""
    body = await read_body(request, NetworkSpecBody)
    _require_namespace(body.labels, "network")
    spec: dict[str, Any] = {
        "Name": body.name,
        "Driver": body.driver,
        "Scope": "swarm",
        "Labels": body.labels,
        "Attachable": body.attachable,
        "Internal": body.internal,
        "Options": body.options,
        "CheckDuplicate": True,
    }
    if body.ipam:
        spec["IPAM"] = body.ipam
    answer = await request.app[ENGINE].request("POST", "networks/create", body=spec)
    return web.json_response({"id": answer.get("Id", "")}, status=201)


async def remove_network(request: web.Request) -> web.Response:
    """``DELETE /v1/swarm/stacks/networks/{id}``: only a stack's network."""
    engine = request.app[ENGINE]
    current = await engine.request("GET", f"networks/{request.match_info['id']}")
    _require_namespace(current.get("Labels"), "network")
    await engine.request("DELETE", f"networks/{current['Id']}")
    return web.json_response({"ok": True})


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in _KINDS:
        raise InvalidInputError(f"unknown kind {kind!r}: secrets or configs")
    return kind


async def create_data(request: web.Request) -> web.Response:
    """``POST /v1/swarm/stacks/{secrets|configs}``: create; answer ``{id}`` (never the data)."""
    kind = _kind(request)
    body = await read_body(request, DataBody)
    _require_namespace(body.labels, kind[:-1])
    try:
        base64.b64decode(body.data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError("data must be base64") from None
    spec = {"Name": body.name, "Labels": body.labels, "Data": body.data}
    answer = await request.app[ENGINE].request("POST", f"{kind}/create", body=spec, swarm=True)
    return web.json_response({"id": answer.get("ID", "")}, status=201)


async def remove_data(request: web.Request) -> web.Response:
    """``DELETE /v1/swarm/stacks/{secrets|configs}/{id}``: only a stack's."""
    kind = _kind(request)
    engine = request.app[ENGINE]
    current = await engine.request("GET", f"{kind}/{request.match_info['id']}", swarm=True)
    _require_namespace((current.get("Spec") or {}).get("Labels"), kind[:-1])
    await engine.request("DELETE", f"{kind}/{current['ID']}", swarm=True)
    return web.json_response({"ok": True})


async def image_digest(request: web.Request) -> web.Response:
    """The registry's digest of a tag (``GET ?image=REF``, or ``POST {image, auth}``).

    Like ``docker stack deploy --resolve-image always``: ask the registry (through the
    engine's distribution endpoint) so every node runs the same image bytes. A private
    registry needs its credentials, which only the POST form carries.
    """
    if request.method == "POST":
        body = await read_body(request, SwarmDigestBody)
        ref, headers = body.image.strip(), _auth_headers(body.auth)
    else:
        ref, headers = (request.query.get("image") or "").strip(), None
    if not ref:
        raise InvalidInputError("query parameter 'image' is required")
    answer = await request.app[ENGINE].request("GET", f"distribution/{ref}/json", headers=headers)
    digest = str((answer.get("Descriptor") or {}).get("digest") or "")
    return web.json_response({"image": ref, "digest": digest})


def add_routes(app: web.Application) -> None:
    """Register the Swarm stack routes."""
    r = app.router
    r.add_get("/v1/swarm/stacks", list_stacks)
    r.add_get("/v1/swarm/stacks/images/digest", image_digest)
    r.add_post("/v1/swarm/stacks/images/digest", image_digest)
    r.add_post("/v1/swarm/stacks/services", create_service)
    r.add_post("/v1/swarm/stacks/services/{id}/update", update_service)
    r.add_delete("/v1/swarm/stacks/services/{id}", remove_service)
    r.add_post("/v1/swarm/stacks/networks", create_network)
    r.add_delete("/v1/swarm/stacks/networks/{id}", remove_network)
    r.add_post("/v1/swarm/stacks/{kind}", create_data)
    r.add_delete("/v1/swarm/stacks/{kind}/{id}", remove_data)
    r.add_get("/v1/swarm/stacks/{namespace}", stack_objects)
