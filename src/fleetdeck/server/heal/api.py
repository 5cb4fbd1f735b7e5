"""``/api/v1/heal``: auto-heal's status, policies, resets and history.

Reading is a viewer's; setting or removing a policy and resetting a container are an
operator's (the same people who may restart a container by hand). Every change is audited
(``heal.policy.set``, ``heal.policy.rm``, ``heal.reset``), next to the healer's own actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request

from fleetdeck.server.audit import audited, entry_json
from fleetdeck.server.auth.deps import Operator, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.wire.admin import AuditEntry
from fleetdeck.wire.heal import (
    HealHistory,
    HealPolicies,
    HealPolicy,
    HealPolicyBody,
    HealResetResult,
    HealStatus,
)

if TYPE_CHECKING:
    from fleetdeck.server.heal.service import HealService

router = APIRouter(prefix="/heal", tags=["heal"])


def heal_of(request: Request) -> HealService:
    """The auto-heal service."""
    service: HealService = context_of(request).heal
    return service


@router.get("")
async def heal_status(request: Request, who: Viewer) -> HealStatus:
    """Watched containers (phase, restarts, crash loop) and Swarm services with churn."""
    return heal_of(request).status()


@router.get("/policies")
async def heal_policies(request: Request, who: Viewer) -> HealPolicies:
    """The effective fleet-wide default and every stored layer (API and Compose)."""
    return await heal_of(request).policies()


@router.put("/policies/{target:path}")
async def heal_policy_set(
    target: str, body: HealPolicyBody, request: Request, who: Operator
) -> HealPolicy:
    """Set the API layer of ``default``, ``STACK`` or ``STACK/SERVICE`` (the rest inherits)."""
    fields = body.model_dump(exclude_none=True)
    async with audited(request, who.username, "heal.policy.set", target, {"fields": fields}):
        return await heal_of(request).set_policy(target, fields)


@router.delete("/policies/{target:path}")
async def heal_policy_delete(target: str, request: Request, who: Operator) -> HealPolicies:
    """Remove the API layer of a target (what is below it applies again)."""
    async with audited(request, who.username, "heal.policy.rm", target):
        return await heal_of(request).delete_policy(target)


@router.post("/reset/{ref:path}")
async def heal_reset(ref: str, request: Request, who: Operator) -> HealResetResult:
    """Forget a container's crash loop and counted restarts: healing resumes."""
    async with audited(request, who.username, "heal.reset", ref) as entry:
        container = await heal_of(request).reset(ref)
        entry.target = f"{container.environment}/{container.node}/{container.container}"
    return HealResetResult(container=container)


@router.get("/history")
async def heal_history(
    request: Request,
    who: Viewer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    target: Annotated[str | None, Query(max_length=600)] = None,
) -> HealHistory:
    """What auto-heal did and why, and people's heal changes, newest first."""
    rows, total = await heal_of(request).history(limit, offset, target)
    return HealHistory(items=[AuditEntry(**entry_json(r)) for r in rows], total=total)
