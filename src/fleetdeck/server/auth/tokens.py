"""API tokens: ``fdt_…`` bearer tokens for scripts and CI, shown once and stored hashed.

A token carries a role no higher than its user's; at use its effective role is the lesser of
the two, so demoting a user also narrows their tokens. Tokens are revoked (kept, marked) rather
than deleted, so the audit trail can still name them.

A token made while authenticated by a login session is a *root*. A token made while
authenticated by another API token is that token's *child* (``parent_id``): its role is at
most the parent's, it expires no later than the parent, and it is live only while every
ancestor is — so revoking a root ends its whole tree, children of children included, and a
leaked short-lived token cannot mint a permanent one. Revocation also marks the descendants
(what ``/tokens`` lists), but the check at use walks the chain, so it holds on its own.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from fleetdeck import pki
from fleetdeck.clock import SYSTEM
from fleetdeck.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from fleetdeck.server.store.models import ApiToken, User

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from fleetdeck.clock import Clock
    from fleetdeck.server.auth.principal import Principal
    from fleetdeck.server.store import Store
    from fleetdeck.wire.auth import Role

TOKEN_PREFIX = "fdt_"  # noqa: S105 - a format prefix, not a secret
#: ``last_used_at`` is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(seconds=60)
#: Longest parent chain (a root and its descendants): bounds the walk at every use.
MAX_CHAIN_DEPTH = 8


def _live(token: ApiToken, now: datetime) -> bool:
    """Not revoked and not expired at ``now``."""
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


async def _ancestors(session: AsyncSession, token: ApiToken) -> list[ApiToken]:
    """The parent, its parent, … up to the root (a missing parent ends the chain dead)."""
    chain: list[ApiToken] = []
    parent_id = token.parent_id
    while parent_id is not None:
        if len(chain) >= MAX_CHAIN_DEPTH:
            raise InvalidInputError(f"token chain deeper than {MAX_CHAIN_DEPTH}")
        parent = await session.get(ApiToken, parent_id)
        if parent is None:
            raise NotFoundError(f"parent token {parent_id!r} is gone")
        chain.append(parent)
        parent_id = parent.parent_id
    return chain


def _earliest(*times: datetime | None) -> datetime | None:
    """The earliest of the given expiries (``None`` is "never")."""
    known = [t for t in times if t is not None]
    return min(known) if known else None


async def create_token(
    store: Store,
    owner: Principal,
    name: str,
    role: Role | None,
    expires_in_days: int | None,
    clock: Clock = SYSTEM,
) -> tuple[ApiToken, str]:
    """Make a token for ``owner``; return the row and the token (shown once).

    When ``owner`` is authenticated by an API token the new token is its child: it expires
    no later than that token (asking for longer, or for no expiry, gets the parent's expiry).
    """
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
    now = clock.now()
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
    async with store.transaction() as session:
        user_id = await session.scalar(select(User.id).where(User.username == owner.username))
        if user_id is None:
            raise NotFoundError(f"no user {owner.username!r}")
        if owner.token_id is not None:
            parent = await session.get(ApiToken, owner.token_id)
            if parent is None:
                raise NotFoundError(f"no token {owner.token_id!r}")
            chain = [parent, *await _ancestors(session, parent)]
            if len(chain) >= MAX_CHAIN_DEPTH:
                raise InvalidInputError(
                    f"tokens made with tokens nest at most {MAX_CHAIN_DEPTH} deep",
                    hint="create this token from a login session (web UI or `fleetdeck login`)",
                )
            expires_at = _earliest(expires_at, *(t.expires_at for t in chain))
        row = ApiToken(
            name=name.strip(),
            user_id=user_id,
            role=role.value,
            token_hash=pki.hash_secret(secret),
            created_at=now,
            expires_at=expires_at,
            parent_id=owner.token_id,
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


async def revoke_token(
    store: Store, caller: Principal, token_id: str, clock: Clock = SYSTEM
) -> tuple[ApiToken, str, list[str]]:
    """Revoke a token of the caller's (or anyone's, for an admin) and all its descendants.

    Idempotent. Returns the token, its owner and the ids of descendants revoked just now.
    """
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
        now = clock.now()
        if token.revoked_at is None:
            token.revoked_at = now
        revoked: list[str] = []
        frontier = [token.id]
        while frontier:
            children = (
                await session.scalars(select(ApiToken).where(ApiToken.parent_id.in_(frontier)))
            ).all()
            frontier = [child.id for child in children]
            for child in children:
                if child.revoked_at is None:
                    child.revoked_at = now
                    revoked.append(child.id)
    return token, owner, revoked


async def token_user(
    store: Store, secret: str, clock: Clock = SYSTEM
) -> tuple[ApiToken, User] | None:
    """The live token and its user, or None; notes its use.

    Live: the token and every ancestor unrevoked and unexpired at ``clock``'s now.
    """
    now = clock.now()
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
        if not _live(token, now):
            return None
        try:
            chain = await _ancestors(session, token)
        except (InvalidInputError, NotFoundError):
            return None
        if not all(_live(ancestor, now) for ancestor in chain):
            return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        async with store.transaction() as session:
            await session.execute(
                update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            )
        token.last_used_at = now
    return token, user
