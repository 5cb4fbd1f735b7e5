"""API tokens: ``fdt_…`` bearer tokens for scripts and CI, shown once and stored hashed.

A token carries a role no higher than its user's; at use its effective role is the lesser of
the two, so demoting a user also narrows their tokens. Tokens are revoked (kept, marked) rather
than deleted, so the audit trail can still name them.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from fleetdeck import pki
from fleetdeck.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from fleetdeck.server.store.models import ApiToken, User, utcnow

if TYPE_CHECKING:
    from fleetdeck.server.auth.principal import Principal
    from fleetdeck.server.store import Store
    from fleetdeck.types import Role

TOKEN_PREFIX = "fdt_"  # noqa: S105 - a format prefix, not a secret
#: ``last_used_at`` is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(seconds=60)


async def create_token(
    store: Store, owner: Principal, name: str, role: Role | None, expires_in_days: int | None
) -> tuple[ApiToken, str]:
    """Make a token for ``owner``; return the row and the token (shown once)."""
    if not name.strip():
        raise InvalidInputError("a token needs a name")
    role = role or owner.role
    if not owner.role.allows(role):
        raise PermissionDeniedError(
            f"a token's role cannot exceed yours ({owner.role}); asked for {role}"
        )
    if expires_in_days is not None and expires_in_days <= 0:
        raise InvalidInputError("expires_in_days must be positive")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    async with store.transaction() as session:
        user_id = await session.scalar(select(User.id).where(User.username == owner.username))
        if user_id is None:
            raise NotFoundError(f"no user {owner.username!r}")
        row = ApiToken(
            name=name.strip(),
            user_id=user_id,
            role=role.value,
            token_hash=pki.hash_secret(secret),
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        session.add(row)
    return row, secret


async def list_tokens(store: Store, username: str | None) -> list[tuple[ApiToken, str]]:
    """Tokens (with their owner's name) of ``username``, or of everyone if None."""
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if username is not None:
        query = query.where(User.username == username)
    async with store.session() as session:
        rows = (await session.execute(query.order_by(ApiToken.created_at))).all()
    return [(row[0], row[1]) for row in rows]


async def revoke_token(store: Store, caller: Principal, token_id: str) -> tuple[ApiToken, str]:
    """Revoke a token of the caller's (or anyone's, for an admin); idempotent."""
    async with store.transaction() as session:
        row = (
            await session.execute(
                select(ApiToken, User.username)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.id == token_id)
            )
        ).first()
        # Someone else's token is "not found" to a non-admin: existence is not disclosed.
        if row is None or (row[1] != caller.username and not caller.is_admin):
            raise NotFoundError(f"no token {token_id!r}")
        token, owner = row[0], row[1]
        if token.revoked_at is None:
            token.revoked_at = utcnow()
    return token, owner


async def token_user(store: Store, secret: str) -> tuple[ApiToken, User] | None:
    """The live (unrevoked, unexpired) token and its user, or None; notes its use."""
    now = utcnow()
    async with store.session() as session:
        row = (
            await session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == pki.hash_secret(secret))
            )
        ).first()
    if row is None:
        return None
    token, user = row[0], row[1]
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        async with store.transaction() as session:
            await session.execute(
                update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            )
        token.last_used_at = now
    return token, user
