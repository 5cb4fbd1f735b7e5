"""``GET /ca``: the CA certificate, public (clients and agents pin it; it holds no secret)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from fleetdeck import pki
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations

router = APIRouter(tags=["ca"])


@router.get(
    "/ca", response_class=Response, responses={200: {"content": {"application/x-pem-file": {}}}}
)
async def ca_certificate(ctx: Ctx) -> Response:
    """The CA certificate in PEM."""
    ca: pki.CertificateAuthority = ctx.ca
    return Response(pki.cert_pem(ca.cert), media_type="application/x-pem-file")
