"""A container's configuration on its page, and the Create container form (``/containers/new``).

The configuration comes from the engine's inspect document, read when the page is rendered
(not on every live refresh: it changes only when the container is recreated, and then the
page is loaded again). Secret-looking environment values are masked here for everyone; an
operator who needs them duplicates the container (the form is filled from the unmasked
document, which only an operator's page gets) or uses ``exec``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from fleetdeck.errors import FleetdeckError
from fleetdeck.labels import SWARM_TASK_ID
from fleetdeck.server.context import FleetDep, context_of  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.fleet.api_container_ops import managed_by_stack
from fleetdeck.server.fleet.common import fleet_of
from fleetdeck.server.fleet.container_view import overview, stack_secrets
from fleetdeck.server.ui.web import PageUser, render
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from starlette.responses import Response

    from fleetdeck.wire.containers import Container

router = APIRouter(include_in_schema=False)

#: Labels the engine, Compose or Swarm set: a duplicate is none of theirs.
_FOREIGN_LABELS = ("com.docker.", "io.fleetdeck.stack")


async def _inspect(request: Request, container: Container) -> dict[str, Any]:
    link = fleet_of(request).links.get(container.environment, container.node)
    return await link.agent.inspect_container(container.id, timeout=10)


async def container_config(request: Request, container: Container) -> dict[str, Any]:
    """The page's configuration sections (``config``) or why they are missing."""
    refusal = None
    if container.labels.get(SWARM_TASK_ID):
        refusal = "a task of a Swarm service: update the service instead"
    elif await managed_by_stack(request, container):
        refusal = f"belongs to the stack {container.stack}: run stack deploy instead"
    try:
        inspect = await _inspect(request, container)
        stacks = context_of(request).stacks
        secrets = await stack_secrets(stacks, container.environment, container.stack)
    except FleetdeckError as exc:
        return {"config": None, "config_error": exc.message, "recreate_refusal": refusal}
    return {
        "config": overview(inspect, secrets),
        "config_error": None,
        "recreate_refusal": refusal,
    }


def _command(value: Any) -> list[str] | None:
    return [str(v) for v in value] if isinstance(value, list) else None


def prefill(inspect: dict[str, Any], image_config: dict[str, Any] | None) -> dict[str, Any]:
    """A :class:`~fleetdeck.container_spec.ContainerSpec`-shaped copy of a container.

    What the image supplies (its env, command, labels) is left out, so the copy gets the
    image's own; what Compose, Swarm or a stack labelled it with is left out too.
    """
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    image = image_config or {}
    image_env = set(image.get("Env") or [])
    image_labels = image.get("Labels") or {}
    ports = []
    for private, bindings in sorted((host.get("PortBindings") or {}).items()):
        number, _, proto = private.partition("/")
        for b in bindings or [{}]:
            ports.append({
                "container_port": int(number),
                "host_port": int(b["HostPort"]) if b.get("HostPort") else 0,
                "host_ip": b.get("HostIp") or None,
                "protocol": proto or "tcp",
            })  # fmt: skip
    mounts = [
        {
            "type": "bind" if m.get("Type") == "bind" else "volume",
            "source": m.get("Source") if m.get("Type") == "bind" else m.get("Name"),
            "target": m.get("Destination"),
            "read_only": not m.get("RW", True),
        }
        for m in inspect.get("Mounts") or []
        if m.get("Type") in ("bind", "volume") and (m.get("Name") or m.get("Source"))
    ]
    mode = str(host.get("NetworkMode") or "default")
    networks = list((inspect.get("NetworkSettings") or {}).get("Networks") or {})
    if mode in networks:
        networks.remove(mode)
        networks.insert(0, mode)
    cmd, entrypoint = _command(config.get("Cmd")), _command(config.get("Entrypoint"))
    name = str(inspect.get("Name") or "").lstrip("/")
    return {
        "image": config.get("Image") or "",
        "name": f"{name}-copy" if name else "",
        "env": [e for e in config.get("Env") or [] if e not in image_env],
        "cmd": None if cmd == image.get("Cmd") else cmd,
        "entrypoint": None if entrypoint == image.get("Entrypoint") else entrypoint,
        "ports": ports,
        "mounts": mounts,
        "networks": [] if networks == ["bridge"] or mode in ("host", "none") else networks,
        "network_mode": mode if mode in ("host", "none") else None,
        "restart": (host.get("RestartPolicy") or {}).get("Name") or "no",
        "labels": {
            k: v
            for k, v in (config.get("Labels") or {}).items()
            if not k.startswith(_FOREIGN_LABELS) and image_labels.get(k) != v
        },
        "privileged": bool(host.get("Privileged")),
    }


async def _prefill_from(request: Request, ref: str) -> dict[str, Any]:
    fleet = fleet_of(request)
    container = fleet.resolve(ref)
    inspect = await _inspect(request, container)
    link = fleet.links.get(container.environment, container.node)
    image_config = None
    try:
        image = await link.agent.stack_image(str(inspect.get("Image") or ""), timeout=10)
        image_config = image.get("config") if isinstance(image, dict) else None
    except FleetdeckError:
        pass  # gone, or the agent has no image inspect: copy everything
    return prefill(inspect, image_config) | {
        "environment": container.environment,
        "node": container.node,
    }


@router.get("/containers/new")
async def create_page(request: Request, fleet: FleetDep, who: PageUser) -> Response:
    """The Create container form; ``?from=REF`` fills it from that container (Duplicate)."""
    source = request.query_params.get("from")
    targets = [f"{e.name}/{n.name}" for e in fleet.views() for n in e.nodes]
    initial: dict[str, Any] = {}
    error = None
    if source and who.role.allows(Role.operator):
        try:
            initial = await _prefill_from(request, source)
        except FleetdeckError as exc:
            error = exc.message
    return render(
        request, who, "container_new.html", targets=targets, initial=initial,
        source=source, error=error,
    )  # fmt: skip
