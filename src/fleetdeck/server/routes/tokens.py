"""``/tokens``: API tokens — everyone manages their own, admins everyone's."""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - pydantic needs it at runtime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fleetdeck.errors import PermissionDeniedError
from fleetdeck.server.audit import audited
from fleetdeck.server.auth import tokens
from fleetdeck.server.auth.deps import Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.store.models import ApiToken  # noqa: TC001 - pydantic model method
from fleetdeck.wire.auth import Role
from fleetdeck.wire.base import RequestBody

router = APIRouter(tags=["tokens"])


class TokenOut(BaseModel):
    """An API token as listed (never with its secret)."""

    id: str
    name: str
    role: Role
    user: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool
    #: The token this one was made with: it is revoked with it and never outlives it.
    parent_id: str | None = None

    @classmethod
    def of(cls, token: ApiToken, owner: str) -> TokenOut:
        """From a stored token and its owner's name."""
        return cls(
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


class TokenCreated(TokenOut):
    """A new token, with its secret: shown this once, never again."""

    token: str


class TokenCreate(RequestBody):
    """``POST /tokens``."""

    name: str = Field(min_length=1, max_length=128)
    role: Role | None = None
    expires_in_days: int | None = Field(default=None, gt=0, le=3650)


@router.get("/tokens")
async def list_tokens(
    request: Request, who: Viewer, user: str | None = Query(default=None)
) -> list[TokenOut]:
    """The caller's tokens; an admin sees everyone's (or one user's with ``?user=``)."""
    if not who.is_admin:
        if user is not None and user != who.username:
            raise PermissionDeniedError("only admins list other users' tokens")
        user = who.username
    rows = await tokens.list_tokens(request.app.state.store, user)
    return [TokenOut.of(t, owner) for t, owner in rows]


@router.post("/tokens", status_code=201)
async def create_token(body: TokenCreate, request: Request, who: Viewer) -> TokenCreated:
    """Make a token for the caller, with a role no higher than the caller's.

    Made with an API token, it is that token's child: revoked with it, expiring no later.
    """
    role = body.role or who.role
    state = request.app.state
    detail = {"role": role, "parent": who.token_id}
    async with audited(request, who.username, "token.create", body.name, detail) as d:
        row, secret = await tokens.create_token(
            state.store, who, body.name, role, body.expires_in_days, state.clock
        )
        d["id"] = row.id
    return TokenCreated(**TokenOut.of(row, who.username).model_dump(), token=secret)


@router.delete("/tokens/{token_id}")
async def revoke_token(token_id: str, request: Request, who: Viewer) -> TokenOut:
    """Revoke a token (the caller's own; any, for an admin) and every token made with it."""
    state = request.app.state
    async with audited(request, who.username, "token.revoke", token_id) as d:
        row, owner, descendants = await tokens.revoke_token(state.store, who, token_id, state.clock)
        if descendants:
            d["descendants"] = descendants
    return TokenOut.of(row, owner)
