"""``GET /health``: liveness, unauthenticated (for load balancers and ``fleetdeck login``).

A logged-in caller (any role) also gets ``details``: the state of every background loop of
the server (:mod:`fleetdeck.server.loops`). Anyone else gets only the status and version, and
a missing or invalid credential never turns the answer into an error: a load balancer must
always be told the server is alive.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from fleetdeck import __version__
from fleetdeck.errors import FleetdeckError
from fleetdeck.server.auth.deps import authenticate, credential
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.wire.admin import Health, HealthDetails, LoopHealth

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, response_model_exclude_unset=True)
async def health(request: Request, ctx: Ctx) -> Health:
    """Answer while the server runs; to a logged-in caller, with the background loops' ctx."""
    answer = Health(status="ok", version=__version__)
    if credential(request) is None:
        return answer
    try:
        await authenticate(request)
    except FleetdeckError:
        return answer
    loops = ctx.loops.statuses()
    answer.details = HealthDetails(loops=[LoopHealth(**s.as_dict()) for s in loops])
    return answer
