"""``/api/v1/containers``: the fleet-wide container list (from memory) and operations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse  # noqa: TC002 - FastAPI reads return types
from pydantic import Field

from fleetdeck.server.audit import audited_call
from fleetdeck.server.auth.deps import Principal, require
from fleetdeck.server.context import Ctx, FleetDep  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.fleet.common import ndjson_response
from fleetdeck.server.fleet.container_view import masked_inspect, stack_secrets
from fleetdeck.server.fleet.inventory import MAX_LIMIT, ContainerQuery
from fleetdeck.server.openapi import NdjsonStream
from fleetdeck.server.params import Offset  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.wire.auth import Role
from fleetdeck.wire.base import RequestBody
from fleetdeck.wire.containers import (
    ActionResult,
    ContainerPage,
    ContainerStats,
    ExecBody,
    ExecResult,
)

router = APIRouter(tags=["containers"])

Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Operator = Annotated[Principal, Depends(require(Role.operator))]
Action = Literal["start", "stop", "restart", "kill", "pause", "unpause"]


class RenameBody(RequestBody):
    """New name of a container."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


@router.get("/containers", response_model=ContainerPage)
async def list_containers(
    fleet: FleetDep,
    _: Viewer,
    environment: str | None = None,
    node: str | None = None,
    state: str | None = None,
    label: Annotated[list[str] | None, Query()] = None,
    stack: str | None = None,
    name: str | None = None,
    health: str | None = None,
    sort: str = "name",
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 500,
    offset: Offset = 0,
) -> ContainerPage:
    """List containers across the fleet, filtered, sorted and paged, from the inventory."""
    if environment is not None:
        fleet.require_environment(environment)
    query = ContainerQuery(
        environment=environment,
        node=node,
        state=state,
        labels=tuple(label or ()),
        stack=stack,
        name=name,
        health=health,
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
    )
    items, total = fleet.inventory.containers(query)
    return ContainerPage(items=items, total=total)


@router.get("/containers/{ref:path}/logs", response_class=NdjsonStream)
async def container_logs(
    fleet: FleetDep,
    ref: str,
    _: Viewer,
    tail: str = "100",
    since: str | None = None,
    timestamps: bool = False,
    follow: bool = False,
) -> StreamingResponse:
    """Stream a container's output as NDJSON lines (``follow`` keeps it open)."""
    container = fleet.resolve(ref)
    link = fleet.links.get(container.environment, container.node)
    lines = link.agent.container_logs(
        container.id, tail=tail, since=since, timestamps=timestamps, follow=follow
    )
    return await ndjson_response(lines)


@router.get("/containers/{ref:path}/stats", response_model=ContainerStats)
async def container_stats(fleet: FleetDep, ref: str, _: Viewer) -> Any:
    """A one-shot resource reading of a container."""
    container = fleet.resolve(ref)
    link = fleet.links.get(container.environment, container.node)
    return await link.agent.container_stats(container.id)


@router.post("/containers/{ref:path}/exec", response_model=ExecResult)
async def container_exec(
    request: Request, fleet: FleetDep, ref: str, principal: Operator, body: ExecBody
) -> Any:
    """Run a command in a container and return its output and exit code."""
    container = fleet.resolve(ref)
    link = fleet.links.get(container.environment, container.node)
    target = f"{container.environment}/{container.node}/{container.name}"
    return await audited_call(
        request,
        principal.username,
        "container.exec",
        target,
        link.agent.exec(
            container.id,
            body.cmd,
            user=body.user,
            workdir=body.workdir,
            env=body.env,
            timeout=300,
        ),
        detail={"cmd": body.cmd},
    )


@router.post("/containers/{ref:path}/rename", response_model=ActionResult)
async def container_rename(
    request: Request, fleet: FleetDep, ref: str, principal: Operator, body: RenameBody
) -> ActionResult:
    """Rename a container."""
    container = fleet.resolve(ref)
    link = fleet.links.get(container.environment, container.node)
    target = f"{container.environment}/{container.node}/{container.name}"
    await audited_call(
        request,
        principal.username,
        "container.rename",
        target,
        link.agent.rename_container(container.id, body.name),
        detail={"name": body.name},
    )
    return ActionResult(container=await fleet.settled(container))


@router.post("/containers/{ref:path}/{action}", response_model=ActionResult)
async def container_action(
    request: Request,
    fleet: FleetDep,
    ref: str,
    action: Action,
    principal: Operator,
    t: Annotated[
        int | None, Query(ge=-1, le=86400, description="stop timeout, seconds (-1: none)")
    ] = None,
    signal: str | None = None,
) -> ActionResult:
    """Start, stop, restart, kill, pause or unpause a container."""
    container = fleet.resolve(ref)
    link = fleet.links.get(container.environment, container.node)
    target = f"{container.environment}/{container.node}/{container.name}"
    await audited_call(
        request,
        principal.username,
        f"container.{action}",
        target,
        link.agent.container_action(container.id, action, t=t, signal=signal, timeout=120),
    )
    return ActionResult(container=await fleet.settled(container))


@router.delete("/containers/{ref:path}", response_model=ActionResult)
async def container_remove(
    request: Request,
    fleet: FleetDep,
    ref: str,
    principal: Operator,
    force: bool = False,
    volumes: bool = False,
) -> ActionResult:
    """Remove a container."""
    container = fleet.resolve(ref)
    link = fleet.links.get(container.environment, container.node)
    target = f"{container.environment}/{container.node}/{container.name}"
    await audited_call(
        request,
        principal.username,
        "container.remove",
        target,
        link.agent.remove_container(container.id, force=force, volumes=volumes, timeout=120),
    )
    return ActionResult(container=None)


@router.get("/containers/{ref:path}")
async def container_inspect(ctx: Ctx, ref: str, principal: Viewer) -> Any:
    """The engine's full inspect document of a container.

    A viewer gets it with secret-looking environment values masked (see
    :mod:`fleetdeck.server.fleet.container_view`); an operator, who could read them with
    ``exec`` anyway, gets them as they are.
    """
    fleet = ctx.fleet
    container = fleet.resolve(ref)
    link = fleet.links.get(container.environment, container.node)
    inspect = await link.agent.inspect_container(container.id)
    if principal.role.allows(Role.operator) or not isinstance(inspect, dict):
        return inspect
    stacks = ctx.stacks
    secrets = await stack_secrets(stacks, container.environment, container.stack)
    return masked_inspect(inspect, secrets)
