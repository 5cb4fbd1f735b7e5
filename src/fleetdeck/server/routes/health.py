"""``GET /health``: liveness, unauthenticated (for load balancers and ``fleetdeck login``).

A logged-in caller (any role) also gets ``details``: the state of every background loop of
the server (:mod:`fleetdeck.server.loops`). Anyone else gets only the status and version, and
a missing or invalid credential never turns the answer into an error: a load balancer must
always be told the server is alive.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fleetdeck import __version__
from fleetdeck.errors import FleetdeckError
from fleetdeck.server.auth.deps import authenticate, credential
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations

router = APIRouter(tags=["health"])


class LoopHealth(BaseModel):
    """One background loop (times are epoch seconds)."""

    name: str
    mode: str = Field(description="periodic (a step every interval) or body (long-running)")
    state: str = Field(description="running, backing-off, standby (not the leader) or stopped")
    interval_s: float
    runs: int = Field(description="steps that succeeded")
    restarts: int = Field(description="times the work raised and was run again")
    failures: int = Field(description="failures in a row now (0 when healthy)")
    last_ok: float | None
    last_error: str | None = Field(description="the last failure, one safe line")
    last_error_at: float | None
    next_run: float | None


class HealthDetails(BaseModel):
    """What a logged-in caller is told besides liveness."""

    loops: list[LoopHealth]


class Health(BaseModel):
    """The server's liveness."""

    status: str
    version: str
    details: HealthDetails | None = Field(
        default=None, description="only for an authenticated caller"
    )


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
