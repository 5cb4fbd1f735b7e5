"""Login sessions: a random bearer token (``fds_…``) whose SHA-256 alone is stored.

A session token works as the ``fleetdeck_session`` cookie (browsers) or as
``Authorization: Bearer`` (the CLI after ``fleetdeck login``).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from fleetdeck import pki
from fleetdeck.clock import SYSTEM
from fleetdeck.errors import UnauthenticatedError
from fleetdeck.server.auth.passwords import verify_password_async
from fleetdeck.server.auth.users import find_user
from fleetdeck.server.store.models import LoginSession, User

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from fleetdeck.clock import Clock
    from fleetdeck.server.store import Store

SESSION_PREFIX = "fds_"
COOKIE_NAME = "fleetdeck_session"


async def check_credentials(store: Store, username: str, password: str) -> User:
    """The enabled user with this password, or raise UnauthenticatedError.

    The message is the same whether the name, the password or the account state is wrong.
    """
    async with store.session() as session:
        user = await find_user(session, username)
    ok = await verify_password_async(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        raise UnauthenticatedError("invalid username or password")
    return user


async def open_session(
    store: Store, user: User, ttl: timedelta, clock: Clock = SYSTEM
) -> tuple[str, datetime]:
    """Start a session for ``user``; return its token (never stored) and expiry."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    expires_at = now + ttl
    async with store.transaction() as session:
        # Sweeping expired sessions here keeps the table small without a background job.
        await session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
        session.add(
            LoginSession(token_hash=pki.hash_secret(token), user_id=user.id, expires_at=expires_at)
        )
    return token, expires_at


async def close_session(store: Store, token: str) -> bool:
    """End the session of ``token``; whether there was one."""
    async with store.transaction() as session:
        result = await session.execute(
            delete(LoginSession).where(LoginSession.token_hash == pki.hash_secret(token))
        )
    return bool(getattr(result, "rowcount", 0))


async def session_user(store: Store, token: str, clock: Clock = SYSTEM) -> User | None:
    """The user of a session token that has not expired at ``clock``'s now, or None."""
    async with store.session() as session:
        row = (
            await session.execute(
                select(User, LoginSession.expires_at)
                .join(LoginSession, LoginSession.user_id == User.id)
                .where(LoginSession.token_hash == pki.hash_secret(token))
            )
        ).first()
    if row is None or row[1] <= clock.now():
        return None
    return row[0]
