"""``/api/v1/environments`` and ``/api/v1/agents/enrol``: what the fleet is made of."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from fleetdeck import __version__, pki
from fleetdeck.server.audit import audited, audited_call
from fleetdeck.server.auth.deps import Principal, require
from fleetdeck.server.context import (  # noqa: TC001 - FastAPI reads route annotations
    Ctx,
    FleetDep,
    context_of,
)
from fleetdeck.server.fleet.common import fleet_of
from fleetdeck.server.install.api import server_url
from fleetdeck.server.install.dist import AgentDist
from fleetdeck.server.install.lines import install_lines
from fleetdeck.wire.auth import Role
from fleetdeck.wire.base import RequestBody
from fleetdeck.wire.fleet import EnrolResult, Environment, EnvironmentCreated, JoinToken

router = APIRouter(tags=["environments"])

Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Admin = Annotated[Principal, Depends(require(Role.admin))]

#: Where agents listen unless told otherwise.
DEFAULT_AGENT_LISTEN = "0.0.0.0:9001"


class EnvironmentCreate(RequestBody):
    """A new environment: ``agent`` (agents enrol with join tokens) or ``local``.

    A ``local`` environment is an engine on the server's own host, by its unix socket; the
    server runs its agent itself.
    """

    name: str = Field(min_length=1, max_length=63)
    kind: Literal["agent", "local"] = "agent"
    docker_host: str | None = Field(default=None, max_length=255)
    tags: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class EnvironmentPatch(RequestBody):
    """New tags and/or groups of an environment."""

    tags: list[str] | None = None
    groups: list[str] | None = None


class EnrolRequest(RequestBody):
    """An agent asking to join (authenticated by its join token)."""

    join_token: str = Field(min_length=10, max_length=300)
    csr_pem: str = Field(min_length=100, max_length=20000)
    listen_url: str = Field(min_length=8, max_length=300)
    hostname: str = Field(min_length=1, max_length=253)


def _agent_command(request: Request, token: str) -> str:
    server = server_url(request)
    return f"fleetdeck agent --server {server} --join-token {token} --listen {DEFAULT_AGENT_LISTEN}"


def _token_result(request: Request, env_name: str, token: str) -> JoinToken:
    fleet = fleet_of(request)
    ctx = context_of(request)
    dist = AgentDist(ctx.settings.agent_dist_path)
    lines = install_lines(
        server_url(request),
        pki.cert_pem(ctx.ca.cert).decode(),
        token,
        __version__,
        has_dist=dist.manifest() is not None,
        has_image=dist.image() is not None,
    )
    return JoinToken(
        environment=fleet.view(fleet.require_environment(env_name)),
        join_token=token,
        agent_command=_agent_command(request, token),
        expires_in_seconds=int(fleet.join_token_ttl.total_seconds()),
        **asdict(lines),
    )


@router.get("/environments", response_model=list[Environment])
async def list_environments(
    fleet: FleetDep, _: Viewer, tag: str | None = None, group: str | None = None
) -> list[Environment]:
    """Every environment with its nodes and live status, optionally by tag or group."""
    views = fleet.views()
    return [
        v for v in views if (tag is None or tag in v.tags) and (group is None or group in v.groups)
    ]


@router.post("/environments", response_model=EnvironmentCreated, status_code=201)
async def create_environment(
    request: Request, fleet: FleetDep, principal: Admin, body: EnvironmentCreate
) -> EnvironmentCreated:
    """Create an environment; return the join token and agent command for its first node.

    A ``local`` environment needs neither: its agent runs on the server by the time this
    answers, so the answer's ``join_token`` and ``agent_command`` are null.
    """
    env, token = await audited_call(
        request,
        principal.username,
        "environment.create",
        body.name,
        fleet.create_environment(
            body.name,
            body.tags,
            body.groups,
            principal.username,
            kind=body.kind,
            docker_host=body.docker_host,
        ),
        detail={"kind": body.kind, "docker_host": body.docker_host}
        if body.kind == "local"
        else None,
    )
    if token is None:
        return EnvironmentCreated(
            environment=fleet.view(env),
            join_token=None,
            agent_command=None,
            expires_in_seconds=None,
        )
    return EnvironmentCreated.model_validate(
        _token_result(request, body.name, token), from_attributes=True
    )


@router.get("/environments/{name}", response_model=Environment)
async def show_environment(fleet: FleetDep, name: str, _: Viewer) -> Environment:
    """One environment with its nodes."""
    return fleet.view(fleet.require_environment(name))


@router.patch("/environments/{name}", response_model=Environment)
async def update_environment(
    request: Request, fleet: FleetDep, name: str, principal: Admin, body: EnvironmentPatch
) -> Environment:
    """Replace an environment's tags and/or groups."""
    env = await audited_call(
        request,
        principal.username,
        "environment.update",
        name,
        fleet.update_environment(name, body.tags, body.groups),
        detail=body.model_dump(exclude_none=True),
    )
    return fleet.view(env)


@router.delete("/environments/{name}", status_code=204)
async def remove_environment(
    request: Request, fleet: FleetDep, name: str, principal: Admin
) -> None:
    """Remove an environment and revoke its agents' certificates."""
    await audited_call(
        request,
        principal.username,
        "environment.remove",
        name,
        fleet.remove_environment(name),
    )


@router.post("/environments/{name}/join-tokens", response_model=JoinToken, status_code=201)
async def new_join_token(
    request: Request, fleet: FleetDep, name: str, principal: Admin
) -> JoinToken:
    """A join token for one more node of the environment (e.g. another Swarm node)."""
    token = await audited_call(
        request,
        principal.username,
        "environment.join_token",
        name,
        fleet.new_join_token(name, principal.username),
    )
    return _token_result(request, name, token)


@router.post("/agents/enrol", response_model=EnrolResult)
async def enrol(request: Request, ctx: Ctx, body: EnrolRequest) -> EnrolResult:
    """Admit an agent holding a valid join token (single use, expiring)."""
    fleet = ctx.fleet
    async with audited(request, f"agent@{body.hostname}", "agent.enrol", body.listen_url) as entry:
        result = await fleet.enrol(body.join_token, body.csr_pem, body.listen_url, body.hostname)
        entry.target = f"{result['environment']}/{result['node']}"
    return EnrolResult(**result)
