"""``/api/v1/environments/{env}/swarm/nodes`` and ``…/services``: Swarm through a manager.

A Swarm environment is one whose nodes' engines are in a Swarm; its cluster is operated
through whichever of its nodes is a reachable manager.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse  # noqa: TC002 - FastAPI reads return types
from pydantic import Field

from fleetdeck.errors import ConflictError, NodeUnreachableError
from fleetdeck.server.auth.deps import Principal, require
from fleetdeck.server.fleet.agent_paths import agent_path
from fleetdeck.server.fleet.agent_streams import LOG_LINE
from fleetdeck.server.fleet.common import audited, fleet_of, ndjson_response
from fleetdeck.server.fleet.inventory import NodeStatus
from fleetdeck.server.openapi import NdjsonStream
from fleetdeck.wire.auth import Role
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.fleet.service import Fleet

router = APIRouter(prefix="/environments/{environment}", tags=["swarm"])

Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Operator = Annotated[Principal, Depends(require(Role.operator))]


class NodeUpdate(RequestBody):
    """A Swarm node's new availability and/or labels."""

    availability: Literal["active", "pause", "drain"] | None = None
    labels: dict[str, str | None] | None = None  # a label set to null is removed


class ScaleBody(RequestBody):
    """A service's new replica count."""

    replicas: int = Field(ge=0, le=10000)


class ImageBody(RequestBody):
    """A service's new image."""

    image: str = Field(min_length=1, max_length=512)


def manager_link(request: Request, environment: str) -> AgentLink:
    """A reachable manager of the environment's Swarm."""
    return manager_of(fleet_of(request), environment)


def manager_of(fleet: Fleet, environment: str) -> AgentLink:
    """A reachable manager of the environment's Swarm (ConflictError if it is no Swarm)."""
    fleet.require_environment(environment)
    managers = []
    for link in fleet.links.of(environment):
        state = fleet.inventory.find_node(environment, link.node)
        if state and state.info and state.info.swarm.role == "manager":
            managers.append((state.status is NodeStatus.up, link))
    if not managers:
        raise ConflictError(
            f"environment {environment!r} is not a Swarm (no manager node)",
            hint="its engines are standalone; Swarm routes need a manager",
        )
    for up, link in managers:
        if up:
            return link
    raise NodeUnreachableError(f"no manager of environment {environment!r} is reachable")


@router.get("/swarm/nodes")
async def list_nodes(request: Request, environment: str, _: Viewer) -> Any:
    """The Swarm's nodes."""
    return await manager_link(request, environment).call("GET", "/v1/swarm/nodes")


@router.post("/swarm/nodes/{node_id}")
async def update_node(
    request: Request, environment: str, node_id: str, principal: Operator, body: NodeUpdate
) -> Any:
    """Drain, pause or activate a Swarm node, or set its labels."""
    link = manager_link(request, environment)
    return await audited(
        request,
        principal,
        "swarm.node.update",
        f"{environment}/{node_id}",
        link.call(
            "POST",
            agent_path("swarm", "nodes", node_id),
            json_body=body.model_dump(exclude_none=True),
        ),
        detail=body.model_dump(exclude_none=True),
    )


@router.get("/services")
async def list_services(request: Request, environment: str, _: Viewer) -> Any:
    """The Swarm's services."""
    return await manager_link(request, environment).call("GET", "/v1/swarm/services")


@router.get("/services/{service}")
async def inspect_service(request: Request, environment: str, service: str, _: Viewer) -> Any:
    """One service."""
    return await manager_link(request, environment).call(
        "GET", agent_path("swarm", "services", service)
    )


@router.get("/services/{service}/tasks")
async def service_tasks(request: Request, environment: str, service: str, _: Viewer) -> Any:
    """A service's tasks with their node and state."""
    link = manager_link(request, environment)
    return await link.call("GET", agent_path("swarm", "services", service, "tasks"))


@router.get("/services/{service}/logs", response_class=NdjsonStream)
async def service_logs(
    request: Request,
    environment: str,
    service: str,
    _: Viewer,
    tail: str = "100",
    follow: bool = False,
) -> StreamingResponse:
    """A service's merged output as NDJSON lines."""
    link = manager_link(request, environment)
    lines = link.stream_lines(
        "GET",
        agent_path("swarm", "services", service, "logs"),
        params={"tail": tail, "follow": follow},
        name="logs",
        check=LOG_LINE,
    )
    return await ndjson_response(lines)


@router.post("/services/{service}/scale")
async def scale_service(
    request: Request, environment: str, service: str, principal: Operator, body: ScaleBody
) -> Any:
    """Set a service's replica count."""
    link = manager_link(request, environment)
    return await audited(
        request,
        principal,
        "service.scale",
        f"{environment}/{service}",
        link.call(
            "POST", agent_path("swarm", "services", service, "scale"), json_body=body.model_dump()
        ),
        detail=body.model_dump(),
    )


@router.post("/services/{service}/image")
async def update_service_image(
    request: Request, environment: str, service: str, principal: Operator, body: ImageBody
) -> Any:
    """Roll a service to a new image."""
    link = manager_link(request, environment)
    return await audited(
        request,
        principal,
        "service.update_image",
        f"{environment}/{service}",
        link.call(
            "POST", agent_path("swarm", "services", service, "image"), json_body=body.model_dump()
        ),
        detail=body.model_dump(),
    )


@router.post("/services/{service}/rollback")
async def rollback_service(
    request: Request, environment: str, service: str, principal: Operator
) -> Any:
    """Roll a service back to its previous spec."""
    link = manager_link(request, environment)
    return await audited(
        request,
        principal,
        "service.rollback",
        f"{environment}/{service}",
        link.call("POST", agent_path("swarm", "services", service, "rollback")),
    )


@router.delete("/services/{service}")
async def remove_service(
    request: Request, environment: str, service: str, principal: Operator
) -> Any:
    """Remove a service."""
    link = manager_link(request, environment)
    return await audited(
        request,
        principal,
        "service.remove",
        f"{environment}/{service}",
        link.call("DELETE", agent_path("swarm", "services", service)),
    )
