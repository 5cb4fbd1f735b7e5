"""``POST /api/v1/stacks/{name}/services/{service}/scale``: set a stack service's replicas.

Answers once the replicas converged (new ones healthy and named, removed ones drained and
stopped); see :mod:`.scaler`. A deploy of the stack in progress is a conflict, as is a new
replica that failed its health gate (the scale is undone then).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from fleetdeck.errors import ConflictError
from fleetdeck.server.audit import audited
from fleetdeck.server.stacks.api import Operator, stacks_of
from fleetdeck.server.stacks.scaling import MAX_REPLICAS
from fleetdeck.wire.base import RequestBody
from fleetdeck.wire.stacks import ScaledService

#: Included in the stacks router (prefix ``/stacks``).
router = APIRouter(tags=["stacks"])


class StackScaleBody(RequestBody):
    """The replica count wanted."""

    replicas: int = Field(ge=0, le=MAX_REPLICAS)


@router.post("/{name}/services/{service}/scale", response_model=ScaledService)
async def scale(
    request: Request, who: Operator, name: str, service: str, body: StackScaleBody
) -> dict[str, Any]:
    """Scale one service of a stack (plain host or Swarm), keeping the count over deploys."""
    scaler = stacks_of(request).scaler
    if scaler is None:  # pragma: no cover - the server always makes one
        raise ConflictError("this server does not scale stack services")
    async with audited(request, who.username, "stack.scale", f"{name}/{service}",
                       body.model_dump()):  # fmt: skip
        return await scaler.scale(name, service, body.replicas, who.username)
