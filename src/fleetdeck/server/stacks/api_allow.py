"""Routes of admins' allowances of dangerous hardening rules (see :mod:`.allowances`).

``GET|PUT /stacks/{name}/allowances`` and ``GET|PUT /environments/{env}/stack-allowances``:
anyone may read them (the stack and environment pages show them), only an admin may set
them, and every change is in the audit log with the rules before and after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Admin  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.stacks.allowances import AllowanceRepository, Scope
from fleetdeck.server.stacks.api import Viewer, stacks_of
from fleetdeck.server.stacks.files import check_stack_name
from fleetdeck.server.stacks.hardening import DANGEROUS
from fleetdeck.wire.base import RequestBody
from fleetdeck.wire.stacks import EnvironmentAllowances, StackAllowances

if TYPE_CHECKING:
    from fleetdeck.server.auth.principal import Principal

#: Included in the stacks router (prefix ``/stacks``).
router = APIRouter(tags=["stacks"])
#: Included at the API root (``/environments/…``).
environment_router = APIRouter(prefix="/environments", tags=["stacks"])


class AllowBody(RequestBody):
    """The rules to allow (replaces the set; empty: allow none)."""

    rules: list[str]


def _allowances(request: Request) -> AllowanceRepository:
    found = stacks_of(request).allowances
    if found is None:  # pragma: no cover - the app always makes one
        raise RuntimeError("no allowance repository")
    return found


async def _stack_view(request: Request, name: str) -> dict[str, Any]:
    allowances = _allowances(request)
    stored = await stacks_of(request).repo.find(name)
    environment = stored.environment if stored is not None else None
    env_rules = await allowances.rules(Scope.environment, environment) if environment else []
    return {
        "stack": name,
        "rules": await allowances.rules(Scope.stack, name),
        "environment": environment,
        "environment_rules": env_rules,
        "dangerous": list(DANGEROUS),
    }


async def _set(
    request: Request, who: Principal, scope: Scope, name: str, rules: list[str]
) -> list[str]:
    allowances = _allowances(request)
    action = "stack.allow" if scope is Scope.stack else "environment.stack_allow"
    before = await allowances.rules(scope, name)
    async with audited(request, who.username, action, name, {"rules": rules}) as detail:
        after = await allowances.replace(scope, name, rules, who.username)
        # A failure records the rules asked for; a success what changed.
        detail.clear()
        detail.update(before=before, after=after)
    return after


@router.get("/{name}/allowances", response_model=StackAllowances)
async def stack_allowances(request: Request, _: Viewer, name: str) -> dict[str, Any]:
    """Dangerous rules allowed for the stack, and for its environment."""
    return await _stack_view(request, check_stack_name(name))


@router.put("/{name}/allowances", response_model=StackAllowances)
async def set_stack_allowances(
    request: Request, who: Admin, name: str, body: AllowBody
) -> dict[str, Any]:
    """Allow exactly ``rules`` for the stack (admin; audited as ``stack.allow``)."""
    await _set(request, who, Scope.stack, check_stack_name(name), body.rules)
    return await _stack_view(request, name)


@environment_router.get("/{env}/stack-allowances", response_model=EnvironmentAllowances)
async def environment_allowances(request: Request, _: Viewer, env: str) -> dict[str, Any]:
    """Dangerous rules allowed for every stack of the environment."""
    stacks_of(request).fleet.require_environment(env)
    rules = await _allowances(request).rules(Scope.environment, env)
    return {"environment": env, "rules": rules, "dangerous": list(DANGEROUS)}


@environment_router.put("/{env}/stack-allowances", response_model=EnvironmentAllowances)
async def set_environment_allowances(
    request: Request, who: Admin, env: str, body: AllowBody
) -> dict[str, Any]:
    """Allow exactly ``rules`` for every stack of the environment (admin; audited)."""
    stacks_of(request).fleet.require_environment(env)
    rules = await _set(request, who, Scope.environment, env, body.rules)
    return {"environment": env, "rules": rules, "dangerous": list(DANGEROUS)}
