"""``/api/v1/images``, ``/volumes`` and ``/networks``: per-node resources, fleet-wide.

Listings ask every selected node in parallel and name the nodes that did not answer instead
of failing the whole page; changes go to one node.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse  # noqa: TC002 - FastAPI reads return types
from pydantic import BaseModel, Field, ValidationError

from fleetdeck.errors import FleetdeckError, NodeUnreachableError
from fleetdeck.server.audit import audited, audited_call
from fleetdeck.server.auth.deps import Principal, require
from fleetdeck.server.context import Ctx, FleetDep, context_of  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.fleet.common import fleet_of, ndjson_response, pick_node_link
from fleetdeck.server.openapi import NdjsonStream
from fleetdeck.wire.auth import Role
from fleetdeck.wire.base import RequestBody
from fleetdeck.wire.resources import DISK_USAGE_WAIT_S, ImageInfo, NetworkInfo, VolumeInfo

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.server.fleet.agent_client import AgentClient
    from fleetdeck.server.fleet.links import AgentLink

router = APIRouter(tags=["images", "volumes", "networks"])

#: How long a listing waits for each node (plus the disk-usage wait when sizes are asked).
LIST_TIMEOUT_S = 10.0

Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Operator = Annotated[Principal, Depends(require(Role.operator))]


class NodeItems(BaseModel):
    """Items gathered from several nodes, each tagged with where it is."""

    items: list[dict[str, Any]]
    unreachable: list[str] = Field(default_factory=list)


class Target(RequestBody):
    """Which node a change goes to."""

    environment: str
    node: str | None = None


class PullBody(Target):
    """An image to pull onto a node."""

    image: str = Field(min_length=1, max_length=512)


class VolumeCreate(Target):
    """A volume to create."""

    name: str = Field(min_length=1, max_length=255)
    driver: str | None = None
    labels: dict[str, str] | None = None


class NetworkCreate(Target):
    """A network to create."""

    name: str = Field(min_length=1, max_length=255)
    driver: str | None = None
    labels: dict[str, str] | None = None
    attachable: bool | None = None


class ConnectBody(RequestBody):
    """A container to connect to or disconnect from a network."""

    container: str = Field(min_length=1)
    node: str | None = None
    force: bool | None = None


def _selected_links(request: Request, environment: str | None, node: str | None) -> list[AgentLink]:
    fleet = fleet_of(request)
    if environment is None:
        return [link for env in sorted(fleet.environment_names()) for link in fleet.links.of(env)]
    if node is not None:
        return [pick_node_link(fleet, environment, node)]
    fleet.require_environment(environment)
    return fleet.links.of(environment)


def _valid_items(link: AgentLink, answer: Any, model: type[BaseModel]) -> list[dict[str, Any]]:
    """The agent's items that are ``model``s, re-dumped and tagged with where they are.

    An agent's answer is input like any other: an item that is not valid is skipped and
    counted in the link's rejects (an answer that is no list counts as the node failing).
    """
    stream = f"{model.__name__} list"
    if not isinstance(answer, list):
        link.rejects.reject(stream, f"the answer is a {type(answer).__name__}, not a list")
        raise NodeUnreachableError(f"node {link.where} sent an answer that is not a list")
    items: list[dict[str, Any]] = []
    for raw in answer:
        try:
            item = model.model_validate(raw)
        except ValidationError as exc:
            link.rejects.reject(stream, str(exc.errors(include_url=False, include_input=False)))
            continue
        items.append(item.model_dump(mode="json") | _where(link))
    return items


def _where(link: AgentLink) -> dict[str, Any]:
    return {"environment": link.environment, "node": link.node}


async def _gather(
    links: list[AgentLink], listing: Callable[[AgentClient], Awaitable[Any]], model: type[BaseModel]
) -> NodeItems:
    async def one(link: AgentLink) -> list[dict[str, Any]]:
        answer = await listing(link.agent)
        return _valid_items(link, answer, model)

    results = await asyncio.gather(*(one(link) for link in links), return_exceptions=True)
    out = NodeItems(items=[])
    for link, result in zip(links, results, strict=True):
        if isinstance(result, FleetdeckError):
            out.unreachable.append(link.where)
        elif isinstance(result, BaseException):
            raise result
        else:
            out.items.extend(result)
    return out


# ------------------------------------------------------------------ images
@router.get("/images", response_model=NodeItems)
async def list_images(
    request: Request,
    _: Viewer,
    environment: str | None = None,
    node: str | None = None,
    unused: Annotated[bool, Query(description="Only images no container uses.")] = False,
    dangling: Annotated[bool, Query(description="Only untagged images.")] = False,
) -> NodeItems:
    """Images on the selected nodes, each with the containers (running or stopped) using it."""
    links = _selected_links(request, environment, node)
    page = await _gather(links, lambda agent: agent.list_images(timeout=LIST_TIMEOUT_S), ImageInfo)
    if unused:
        page.items = [i for i in page.items if i["in_use"] is False]
    if dangling:
        page.items = [i for i in page.items if i["dangling"]]
    return page


@router.post("/images/pull", response_class=NdjsonStream)
async def pull_image(
    request: Request, ctx: Ctx, principal: Operator, body: PullBody
) -> StreamingResponse:
    """Pull an image onto a node, streaming Docker's progress as NDJSON."""
    link = pick_node_link(ctx.fleet, body.environment, body.node)
    auth = await registry_auth(request, body.image)
    lines = link.agent.pull_image_lines(body.image, auth)
    target = f"{link.where}:{body.image}"
    async with audited(request, principal.username, "image.pull", target) as entry:
        # An unreachable node is an error response (503, the CLI's exit 6), not a 200 whose
        # body says so.
        return await ndjson_response(lines, entry.later())


async def registry_auth(request: Request, image: str) -> dict[str, str] | None:
    """The stored credentials of the registry ``image`` is pulled from (None: anonymous)."""
    return await context_of(request).registry_auth_for(image)


@router.delete("/images")
async def remove_image(
    request: Request,
    fleet: FleetDep,
    principal: Operator,
    environment: str,
    image: str,
    node: str | None = None,
    force: bool = False,
) -> Any:
    """Remove an image from a node."""
    link = pick_node_link(fleet, environment, node)
    return await audited_call(
        request,
        principal.username,
        "image.remove",
        f"{link.where}:{image}",
        link.agent.remove_image(image, force=force),
    )


@router.post("/images/prune")
async def prune_images(request: Request, fleet: FleetDep, principal: Operator, body: Target) -> Any:
    """Remove unused images from a node."""
    link = pick_node_link(fleet, body.environment, body.node)
    return await audited_call(
        request,
        principal.username,
        "image.prune",
        link.where,
        link.agent.prune_images(),
    )


# ------------------------------------------------------------------ volumes
@router.get("/volumes", response_model=NodeItems)
async def list_volumes(
    request: Request,
    _: Viewer,
    environment: str | None = None,
    node: str | None = None,
    size: Annotated[
        bool,
        Query(
            description="Measure each volume's size (the engines' disk-usage walk, waited "
            f"for at most {DISK_USAGE_WAIT_S:g} s a node; past that size_status is timed_out)."
        ),
    ] = False,
    unused: Annotated[bool, Query(description="Only volumes no container mounts.")] = False,
) -> NodeItems:
    """Volumes on the selected nodes, the containers mounting each and, when asked, sizes."""
    links = _selected_links(request, environment, node)
    timeout = LIST_TIMEOUT_S + (DISK_USAGE_WAIT_S if size else 0)
    page = await _gather(
        links, lambda agent: agent.list_volumes(size=size, timeout=timeout), VolumeInfo
    )
    if unused:
        page.items = [v for v in page.items if v["in_use"] is False]
    return page


@router.post("/volumes", status_code=201)
async def create_volume(
    request: Request, fleet: FleetDep, principal: Operator, body: VolumeCreate
) -> Any:
    """Create a volume on a node."""
    link = pick_node_link(fleet, body.environment, body.node)
    spec = body.model_dump(exclude_none=True, exclude={"environment", "node"})
    return await audited_call(
        request,
        principal.username,
        "volume.create",
        f"{link.where}/{body.name}",
        link.agent.create_volume(spec),
    )


@router.delete("/volumes/{environment}/{name}")
async def remove_volume(
    request: Request,
    fleet: FleetDep,
    principal: Operator,
    environment: str,
    name: str,
    node: str | None = None,
    force: bool = False,
) -> Any:
    """Remove a volume from a node."""
    link = pick_node_link(fleet, environment, node)
    return await audited_call(
        request,
        principal.username,
        "volume.remove",
        f"{link.where}/{name}",
        link.agent.remove_volume(name, force=force),
    )


@router.post("/volumes/prune")
async def prune_volumes(
    request: Request, fleet: FleetDep, principal: Operator, body: Target
) -> Any:
    """Remove unused volumes from a node."""
    link = pick_node_link(fleet, body.environment, body.node)
    return await audited_call(
        request,
        principal.username,
        "volume.prune",
        link.where,
        link.agent.prune_volumes(),
    )


# ------------------------------------------------------------------ networks
@router.get("/networks", response_model=NodeItems)
async def list_networks(
    request: Request, _: Viewer, environment: str | None = None, node: str | None = None
) -> NodeItems:
    """Networks on the selected nodes."""
    links = _selected_links(request, environment, node)
    return await _gather(
        links, lambda agent: agent.list_networks(timeout=LIST_TIMEOUT_S), NetworkInfo
    )


@router.post("/networks", status_code=201)
async def create_network(
    request: Request, fleet: FleetDep, principal: Operator, body: NetworkCreate
) -> Any:
    """Create a network on a node."""
    link = pick_node_link(fleet, body.environment, body.node)
    spec = body.model_dump(exclude_none=True, exclude={"environment", "node"})
    return await audited_call(
        request,
        principal.username,
        "network.create",
        f"{link.where}/{body.name}",
        link.agent.create_network(spec),
    )


@router.delete("/networks/{environment}/{name}")
async def remove_network(
    request: Request,
    fleet: FleetDep,
    principal: Operator,
    environment: str,
    name: str,
    node: str | None = None,
) -> Any:
    """Remove a network from a node."""
    link = pick_node_link(fleet, environment, node)
    return await audited_call(
        request,
        principal.username,
        "network.remove",
        f"{link.where}/{name}",
        link.agent.remove_network(name),
    )


@router.post("/networks/prune")
async def prune_networks(
    request: Request, fleet: FleetDep, principal: Operator, body: Target
) -> Any:
    """Remove unused networks from a node."""
    link = pick_node_link(fleet, body.environment, body.node)
    return await audited_call(
        request,
        principal.username,
        "network.prune",
        link.where,
        link.agent.prune_networks(),
    )


@router.post("/networks/{environment}/{name}/{verb}")
async def connect_network(
    request: Request,
    fleet: FleetDep,
    principal: Operator,
    environment: str,
    name: str,
    verb: str,
    body: ConnectBody,
) -> Any:
    """Connect a container to (or disconnect it from) a network on its node."""
    from fleetdeck.errors import InvalidInputError

    if verb not in ("connect", "disconnect"):
        raise InvalidInputError(f"unknown network action {verb!r}", hint="connect or disconnect")
    container = fleet.resolve(f"{environment}/{body.container}")
    link = fleet.links.get(container.environment, container.node)
    call = (
        link.agent.connect_network(name, container.id)
        if verb == "connect"
        else link.agent.disconnect_network(name, container.id, force=body.force)
    )
    return await audited_call(
        request,
        principal.username,
        f"network.{verb}",
        f"{link.where}/{name}:{container.name}",
        call,
    )
