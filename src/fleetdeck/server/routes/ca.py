"""``GET /ca``: the CA certificate, public (clients and agents pin it; it holds no secret)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleetdeck import pki
from fleetdeck.server.context import context_of

router = APIRouter(tags=["ca"])


@router.get(
    "/ca", response_class=Response, responses={200: {"content": {"application/x-pem-file": {}}}}
)
async def ca_certificate(request: Request) -> Response:
    """The CA certificate in PEM."""
    ca: pki.CertificateAuthority = context_of(request).ca
    return Response(pki.cert_pem(ca.cert), media_type="application/x-pem-file")
