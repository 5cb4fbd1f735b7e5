"""``/api/v1/environments/{env}/swarm/nodes`` and ``…/services``: Swarm through a manager.

A Swarm environment is one whose nodes' engines are in a Swarm; its cluster is operated
through whichever of its nodes is a reachable manager.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse  # noqa: TC002 - FastAPI reads return types
from pydantic import Field

from fleetdeck.server.audit import audited_call
from fleetdeck.server.auth.deps import Principal, require
from fleetdeck.server.fleet.common import fleet_of, ndjson_response
from fleetdeck.server.fleet.service import manager_of
from fleetdeck.server.openapi import NdjsonStream
from fleetdeck.wire.auth import Role
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fleetdeck.server.fleet.links import AgentLink

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


@router.get("/swarm/nodes")
async def list_nodes(request: Request, environment: str, _: Viewer) -> Any:
    """The Swarm's nodes."""
    return await manager_link(request, environment).agent.swarm_nodes()


@router.post("/swarm/nodes/{node_id}")
async def update_node(
    request: Request, environment: str, node_id: str, principal: Operator, body: NodeUpdate
) -> Any:
    """Drain, pause or activate a Swarm node, or set its labels."""
    link = manager_link(request, environment)
    return await audited_call(
        request,
        principal.username,
        "swarm.node.update",
        f"{environment}/{node_id}",
        link.agent.update_swarm_node(node_id, body.model_dump(exclude_none=True)),
        detail=body.model_dump(exclude_none=True),
    )


@router.get("/services")
async def list_services(request: Request, environment: str, _: Viewer) -> Any:
    """The Swarm's services."""
    return await manager_link(request, environment).agent.swarm_services()


@router.get("/services/{service}")
async def inspect_service(request: Request, environment: str, service: str, _: Viewer) -> Any:
    """One service."""
    return await manager_link(request, environment).agent.swarm_service(service)


@router.get("/services/{service}/tasks")
async def service_tasks(request: Request, environment: str, service: str, _: Viewer) -> Any:
    """A service's tasks with their node and state."""
    link = manager_link(request, environment)
    return await link.agent.service_tasks(service)


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
    lines = link.agent.service_logs(service, tail=tail, follow=follow)
    return await ndjson_response(lines)


@router.post("/services/{service}/scale")
async def scale_service(
    request: Request, environment: str, service: str, principal: Operator, body: ScaleBody
) -> Any:
    """Set a service's replica count."""
    link = manager_link(request, environment)
    return await audited_call(
        request,
        principal.username,
        "service.scale",
        f"{environment}/{service}",
        link.agent.scale_service(service, body.replicas),
        detail=body.model_dump(),
    )


@router.post("/services/{service}/image")
async def update_service_image(
    request: Request, environment: str, service: str, principal: Operator, body: ImageBody
) -> Any:
    """Roll a service to a new image."""
    link = manager_link(request, environment)
    return await audited_call(
        request,
        principal.username,
        "service.update_image",
        f"{environment}/{service}",
        link.agent.update_service_image(service, body.image),
        detail=body.model_dump(),
    )


@router.post("/services/{service}/rollback")
async def rollback_service(
    request: Request, environment: str, service: str, principal: Operator
) -> Any:
    """Roll a service back to its previous spec."""
    link = manager_link(request, environment)
    return await audited_call(
        request,
        principal.username,
        "service.rollback",
        f"{environment}/{service}",
        link.agent.rollback_service(service),
    )


@router.delete("/services/{service}")
async def remove_service(
    request: Request, environment: str, service: str, principal: Operator
) -> Any:
    """Remove a service."""
    link = manager_link(request, environment)
    return await audited_call(
        request,
        principal.username,
        "service.remove",
        f"{environment}/{service}",
        link.agent.remove_service(service),
    )
