"""``/api/v1/stacks/{name}/drift``: a stack's live state against its deployed revision.

Reading is a viewer's; setting the policy or suspending is an operator's (who may deploy the
stack). Changes are audited as ``stack.drift.set``; the reverts themselves as
``stack.drift.revert`` by ``system``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Operator, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.wire.drift import DriftPolicyBody, StackDrift

if TYPE_CHECKING:
    from fleetdeck.server.drift.service import DriftService

router = APIRouter(prefix="/stacks", tags=["stacks"])


def drift_of(request: Request) -> DriftService:
    """The drift service."""
    service: DriftService = context_of(request).drift
    return service


@router.get("/{name}/drift", response_model=StackDrift)
async def stack_drift(request: Request, _: Viewer, name: str) -> dict[str, Any]:
    """Per service, what differs between what runs and the deployed revision (looked at now)."""
    return await drift_of(request).report(name)


@router.put("/{name}/drift", response_model=StackDrift)
async def set_stack_drift(
    request: Request, who: Operator, name: str, body: DriftPolicyBody
) -> dict[str, Any]:
    """Set the stack's drift policy (notify, revert, default) or suspend/resume it."""
    fields = body.model_dump(exclude_none=True)
    async with audited(request, who.username, "stack.drift.set", name, fields):
        return await drift_of(request).set(name, body.policy, body.suspended)
