"""``GET /health``: liveness, unauthenticated (for load balancers and ``fleetdeck login``)."""

from __future__ import annotations

from fastapi import APIRouter

from fleetdeck import __version__

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Answer while the server runs."""
    return {"status": "ok", "version": __version__}
