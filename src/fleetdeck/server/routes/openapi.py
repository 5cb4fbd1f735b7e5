"""``GET /api/openapi.json``: the API's OpenAPI document, for logged-in callers only.

Like every route but the four the README names, it needs a login (the Kubernetes API server
likewise serves its OpenAPI document to authenticated callers only). There is no Swagger UI
page: FastAPI's loads its scripts from a CDN, blank on a LAN-only server; point any OpenAPI
viewer at this document with a bearer token instead.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from fleetdeck.server.auth.deps import Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime

OPENAPI_PATH = "/api/openapi.json"
router = APIRouter(include_in_schema=False)


@router.get(OPENAPI_PATH)
async def openapi(request: Request, _: Viewer) -> JSONResponse:
    """The OpenAPI document of this server's routes."""
    return JSONResponse(request.app.openapi())
