"""``/api/v1/autoscale``: policies (list, set, remove) and each one's decisions.

A service is ``{scope}/{service}``: a managed stack's (``STACK/SERVICE``) or a Swarm
environment's (``ENV/SERVICE``). Setting a policy checks it whole first (min ≤ max, a
target, a well-formed PromQL expression that the configured Prometheus accepts); nothing
is stored when anything is wrong.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from fleetdeck.errors import ConflictError, InvalidInputError, NotFoundError
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Principal, require
from fleetdeck.server.autoscale import prometheus
from fleetdeck.server.autoscale.algorithm import Behaviour
from fleetdeck.server.autoscale.policy import Policy, check_policy
from fleetdeck.server.autoscale.repository import policy_json
from fleetdeck.server.context import context_of
from fleetdeck.server.stacks.files import check_stack_name
from fleetdeck.wire.auth import Role
from fleetdeck.wire.autoscale import DecisionOut, PolicyBody, PolicyOut, Removed

router = APIRouter(prefix="/autoscale", tags=["autoscale"])
Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Operator = Annotated[Principal, Depends(require(Role.operator))]


def _autoscaler(request: Request) -> Any:
    scaler = context_of(request).autoscaler
    if scaler is None:  # pragma: no cover - the server always starts one
        raise ConflictError("the autoscaler is not running")
    return scaler


async def _kind(request: Request, scope: str, kind: str | None) -> str:
    """What ``scope`` names: a managed stack, else a Swarm environment (which must exist)."""
    ctx = context_of(request)
    if kind != "swarm":
        try:
            name = check_stack_name(scope)
        except InvalidInputError:  # not a stack's name: maybe an environment's
            name = None
        if name is not None and await ctx.stacks.repo.find(name) is not None:
            return "stack"
        if kind == "stack":
            raise NotFoundError(f"no stack {scope!r}")
    ctx.fleet.require_environment(scope)
    if ctx.stacks.kind_of(scope).value != "swarm":
        raise NotFoundError(
            f"{scope!r} is neither a managed stack nor a Swarm environment",
            hint="name a service as STACK/SERVICE or ENV/SERVICE",
        )
    return "swarm"


async def _existing(request: Request, scope: str, service: str) -> Policy:
    repo = _autoscaler(request).repo
    for kind in ("stack", "swarm"):
        found: Policy | None = await repo.find(f"{kind}:{scope}/{service}")
        if found is not None:
            return found
    raise NotFoundError(f"no autoscaling policy for {scope}/{service}",
                        hint="see them with: fleetdeck autoscale ls")  # fmt: skip


@router.get("", response_model=list[PolicyOut])
async def list_policies(request: Request, _: Viewer) -> list[dict[str, Any]]:
    """Every policy."""
    return [policy_json(p) for p in await _autoscaler(request).repo.policies()]


@router.put("/{scope}/{service}", response_model=PolicyOut)
async def set_policy(
    request: Request, who: Operator, scope: str, service: str, body: PolicyBody
) -> dict[str, Any]:
    """Set (or replace) a service's policy; its history of decisions starts over."""
    autoscaler = _autoscaler(request)
    detail = body.model_dump(exclude_none=True)
    async with audited(request, who.username, "autoscale.set", f"{scope}/{service}", detail):
        behaviour = Behaviour(
            scale_down_window_s=body.scale_down_window_s, scale_up_pods=body.scale_up_pods,
            scale_up_percent=body.scale_up_percent, scale_up_period_s=body.scale_up_period_s,
            tolerance=body.tolerance,
        )  # fmt: skip
        policy = check_policy(Policy(
            kind=await _kind(request, scope, body.kind), scope=scope, service=service,
            minimum=body.min, maximum=body.max, cpu=body.cpu, memory=body.memory,
            prometheus_query=body.prometheus, prometheus_target=body.target,
            recommend_only=body.recommend_only, behaviour=behaviour,
        ))  # fmt: skip
        if policy.prometheus_query is not None:
            await prometheus.check_query(autoscaler.prometheus_url, policy.prometheus_query)
        await autoscaler.repo.put(policy, who.username)
        autoscaler.forget(policy.target)
    autoscaler.loop.wake()
    return policy_json(policy)


@router.delete("/{scope}/{service}", response_model=Removed)
async def remove_policy(request: Request, who: Operator, scope: str, service: str) -> Any:
    """Stop autoscaling a service (its replicas stay as they are)."""
    autoscaler = _autoscaler(request)
    async with audited(request, who.username, "autoscale.remove", f"{scope}/{service}"):
        policy = await _existing(request, scope, service)
        await autoscaler.repo.remove(policy.target)
        autoscaler.forget(policy.target)
    return {"ok": True}


@router.get("/{scope}/{service}/history", response_model=list[DecisionOut])
async def history(
    request: Request, _: Viewer, scope: str, service: str,
    limit: Annotated[int, Query(ge=1, le=2000)] = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """A policy's decisions, newest first."""
    policy = await _existing(request, scope, service)
    decisions: list[dict[str, Any]] = await _autoscaler(request).repo.decisions(
        policy.target, limit
    )
    return decisions
