"""``/tokens``: API tokens — everyone manages their own, admins everyone's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request
from pydantic import Field

from fleetdeck.errors import PermissionDeniedError
from fleetdeck.server.audit import audited
from fleetdeck.server.auth import tokens
from fleetdeck.server.auth.deps import Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.wire.auth import ApiToken, CreatedToken, Role
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fleetdeck.server.store.models import ApiToken as StoredToken

router = APIRouter(tags=["tokens"])


def token_out(token: StoredToken, owner: str) -> ApiToken:
    """A stored token and its owner's name, as the API lists it."""
    return ApiToken(
        id=token.id,
        name=token.name,
        role=Role(token.role),
        user=owner,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked=token.revoked_at is not None,
        parent_id=token.parent_id,
    )


class TokenCreate(RequestBody):
    """``POST /tokens``."""

    name: str = Field(min_length=1, max_length=128)
    role: Role | None = None
    expires_in_days: int | None = Field(default=None, gt=0, le=3650)


@router.get("/tokens")
async def list_tokens(
    ctx: Ctx, who: Viewer, user: str | None = Query(default=None)
) -> list[ApiToken]:
    """The caller's tokens; an admin sees everyone's (or one user's with ``?user=``)."""
    if not who.is_admin:
        if user is not None and user != who.username:
            raise PermissionDeniedError("only admins list other users' tokens")
        user = who.username
    rows = await tokens.list_tokens(ctx.store, user)
    return [token_out(t, owner) for t, owner in rows]


@router.post("/tokens", status_code=201)
async def create_token(body: TokenCreate, request: Request, ctx: Ctx, who: Viewer) -> CreatedToken:
    """Make a token for the caller, with a role no higher than the caller's.

    Made with an API token, it is that token's child: revoked with it, expiring no later.
    """
    role = body.role or who.role
    detail = {"role": role, "parent": who.token_id}
    async with audited(request, who.username, "token.create", body.name, detail) as d:
        row, secret = await tokens.create_token(
            ctx.store, who, body.name, role, body.expires_in_days, ctx.clock
        )
        d["id"] = row.id
    return CreatedToken(**token_out(row, who.username).model_dump(), token=secret)


@router.delete("/tokens/{token_id}")
async def revoke_token(token_id: str, request: Request, ctx: Ctx, who: Viewer) -> ApiToken:
    """Revoke a token (the caller's own; any, for an admin) and every token made with it."""
    async with audited(request, who.username, "token.revoke", token_id) as d:
        row, owner, descendants = await tokens.revoke_token(ctx.store, who, token_id, ctx.clock)
        if descendants:
            d["descendants"] = descendants
    return token_out(row, owner)
