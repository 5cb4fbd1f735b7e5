"""The Updates page: pending image updates of every watched stack service.

Rendered from the image-update service (what ``fleetdeck updates ls`` shows). "Check now"
calls ``POST /api/v1/updates/check`` with the session cookie (an operator's, audited).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request

from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.ui.web import PageUser, render
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from starlette.responses import Response

router = APIRouter(include_in_schema=False)


def short(digest: str | None) -> str:
    """The first 12 hex digits of a digest, ``—`` when there is none."""
    return digest.removeprefix("sha256:")[:12] if digest else "—"


@router.get("/updates")
async def updates_page(request: Request, ctx: Ctx, who: PageUser) -> Response:
    """Every watched stack service: its digest, the registry's, status, policy."""
    listing = await ctx.updates.listing()
    pending = [i for i in listing.items if i.update_available]
    return render(
        request, who, "updates.html",
        listing=listing, pending=pending, short=short,
        can_check=who.role.allows(Role.operator),
    )  # fmt: skip
