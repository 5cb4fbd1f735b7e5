"""``POST /api/v1/containers`` (create from a spec) and ``…/{ref}/recreate``.

Both are an operator's. Create is judged by the stack hardening rules first
(:mod:`fleetdeck.server.fleet.container_rules`): what would give a container root on its node
is an admin's alone. Recreate keeps a container's own configuration (it grants nothing the
container did not have; with a fresh pull of a container that has such settings it is an
admin's too) and is refused for a container a fleetdeck stack manages: the
stack's next deploy would see a container it did not make, so ``stack deploy`` it is.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import Field

from fleetdeck.container_spec import ContainerSpec, RecreateOptions
from fleetdeck.errors import ConflictError, PermissionDeniedError
from fleetdeck.labels import FLEETDECK_REVISION
from fleetdeck.server.audit import audited_call
from fleetdeck.server.auth.deps import Principal, require
from fleetdeck.server.context import FleetDep, context_of  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.fleet import container_rules
from fleetdeck.server.fleet.api_resources import registry_auth
from fleetdeck.server.fleet.common import fleet_of, pick_node_link
from fleetdeck.wire.auth import Role
from fleetdeck.wire.base import RequestBody
from fleetdeck.wire.containers import ActionResult, Container, CreateFinding, CreateResult

router = APIRouter(tags=["containers"])

Operator = Annotated[Principal, Depends(require(Role.operator))]
#: Seconds an agent may take to pull, create and swap (a big image's pull is most of it).
AGENT_TIMEOUT = 900


class CreateBody(RequestBody):
    """A container to create on a node of an environment."""

    environment: str = Field(min_length=1, max_length=128)
    node: str | None = Field(default=None, min_length=1, max_length=255)
    spec: ContainerSpec


async def _arrived(request: Request, environment: str, node: str, answer: Any) -> Container:
    """The new container as the inventory has it, once it has it (its agent's word else)."""
    fleet = fleet_of(request)
    raw = dict(answer.get("container") or {})
    raw.pop("image_ref", None)
    raw.pop("image_digest", None)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2.0
    version = fleet.inventory.version
    while True:
        state = fleet.inventory.find_node(environment, node)
        current = state.containers.get(raw.get("id", "")) if state else None
        if current is not None:
            return Container(**current.model_dump(), environment=environment, node=node)
        if loop.time() >= deadline:
            return Container(**raw, environment=environment, node=node)
        version = await fleet.inventory.wait_changed(version, deadline - loop.time())


async def managed_by_stack(request: Request, container: Container) -> bool:
    """Whether a fleetdeck stack made the container (its label, or a stack of that name here)."""
    if FLEETDECK_REVISION in container.labels:
        return True
    if not container.stack:
        return False
    stored = await context_of(request).stacks.repo.find(container.stack)
    return stored is not None and stored.environment == container.environment


@router.post("/containers", response_model=CreateResult)
async def container_create(
    request: Request, fleet: FleetDep, principal: Operator, body: CreateBody
) -> Any:
    """Create (and start) a container on a node; dangerous settings are an admin's."""
    findings = container_rules.check(body.spec, principal)
    link = pick_node_link(fleet, body.environment, body.node)
    auth = await registry_auth(request, body.spec.image)
    target = f"{link.where}/{body.spec.name or '?'}"
    answer = await audited_call(
        request,
        principal.username,
        "container.create",
        target,
        link.agent.create_container(body.spec.model_dump(mode="json"), auth, timeout=AGENT_TIMEOUT),
        detail={"image": body.spec.image, "rules": sorted({rule for rule, _ in findings})},
    )
    container = await _arrived(request, link.environment, link.node, answer)
    return CreateResult(
        container=container, findings=[CreateFinding(rule=r, message=m) for r, m in findings]
    )


@router.post("/containers/{ref:path}/recreate", response_model=ActionResult)
async def container_recreate(
    request: Request,
    fleet: FleetDep,
    ref: str,
    principal: Operator,
    body: Annotated[RecreateOptions | None, Body()] = None,
) -> ActionResult:
    """Recreate a container with the same configuration (``pull``: pull its image first)."""
    options = body or RecreateOptions()
    container = fleet.resolve(ref)
    target = f"{container.environment}/{container.node}/{container.name}"
    if await managed_by_stack(request, container):
        raise ConflictError(
            f"{target} belongs to the fleetdeck stack {container.stack!r}: it is not recreated "
            "on its own",
            hint=f"fleetdeck stack deploy {container.stack}",
        )
    link = fleet.links.get(container.environment, container.node)
    if options.pull and not principal.is_admin:
        inspect = await link.agent.inspect_container(container.id)
        found = container_rules.inspect_findings(inspect if isinstance(inspect, dict) else {})
        if found:
            rules = ", ".join(sorted({rule for rule, _ in found}))
            raise PermissionDeniedError(
                f"only an admin may pull a new image into {target} ({rules}): whatever image "
                "is under its tag now would run with them",
                hint=f"fleetdeck recreate {ref} (without --pull) keeps its image",
            )
    auth = await registry_auth(request, container.image_ref) if options.pull else None
    answer = await audited_call(
        request,
        principal.username,
        "container.recreate",
        target,
        link.agent.recreate_container(
            container.id, options.model_dump(exclude_none=True), auth, timeout=AGENT_TIMEOUT
        ),
        detail={"pull": options.pull},
    )
    return ActionResult(
        container=await _arrived(request, container.environment, container.node, answer)
    )
