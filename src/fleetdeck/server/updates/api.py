"""``/api/v1/updates``: pending image updates, a check on demand, policies.

Reading is a viewer's; a check (it may deploy stacks whose policy is ``auto``) and setting or
removing a policy are an operator's. Changes are audited (``updates.check``,
``updates.policy.set``, ``updates.policy.rm``); the watcher's own deploys are
``updates.deploy`` entries by ``image-updates``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request

from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Operator, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.wire.updates import (  # noqa: TC001 - FastAPI reads route annotations at runtime
    CheckResult,
    UpdatePolicies,
    UpdatePolicyBody,
    UpdatesList,
)

if TYPE_CHECKING:
    from fleetdeck.server.updates.service import UpdatesService

router = APIRouter(prefix="/updates", tags=["updates"])


def updates_of(request: Request) -> UpdatesService:
    """The image-update service."""
    service: UpdatesService = context_of(request).updates
    return service


@router.get("")
async def updates_list(request: Request, who: Viewer) -> UpdatesList:
    """Every watched stack service: its digest, the registry's, status and policy."""
    return await updates_of(request).listing()


@router.post("/check")
async def updates_check(request: Request, who: Operator) -> CheckResult:
    """Run a round now (fresh registry answers); ``auto`` services are deployed in it."""
    async with audited(request, who.username, "updates.check", "all") as entry:
        result = await updates_of(request).check()
        entry["updated"], entry["failed"] = result.updated, result.failed
    return result


@router.get("/policies")
async def updates_policies(request: Request, who: Viewer) -> UpdatePolicies:
    """The effective default and every policy set through the API."""
    return await updates_of(request).policies()


@router.put("/policies/{target:path}")
async def updates_policy_set(
    target: str, body: UpdatePolicyBody, request: Request, who: Operator
) -> UpdatePolicies:
    """Set the policy of ``default``, ``STACK`` or ``STACK/SERVICE``."""
    detail = {"policy": body.policy}
    async with audited(request, who.username, "updates.policy.set", target, detail):
        return await updates_of(request).set_policy(target, body.policy, who.username)


@router.delete("/policies/{target:path}")
async def updates_policy_delete(target: str, request: Request, who: Operator) -> UpdatePolicies:
    """Remove the API's policy of a target."""
    async with audited(request, who.username, "updates.policy.rm", target):
        return await updates_of(request).delete_policy(target)
