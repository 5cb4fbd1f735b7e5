"""User accounts: create, change, remove, and the first admin.

Guards that keep a server manageable: the last enabled admin cannot be removed, disabled or
demoted, and changing a password or disabling an account ends its login sessions.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from fleetdeck.errors import ConflictError, InvalidInputError, NotFoundError
from fleetdeck.server.auth.passwords import hash_password_async
from fleetdeck.server.store.models import LoginSession, User
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from fleetdeck.server.store import Store

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 8
ADMIN_USERNAME = "admin"


def check_username(username: str) -> None:
    """Raise InvalidInputError unless ``username`` is 1–64 of letters, digits, ``._@-``."""
    if not USERNAME_RE.match(username):
        raise InvalidInputError(
            f"invalid username {username!r}",
            hint="1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
        )


def check_password(password: str) -> None:
    """Raise InvalidInputError for a password too short to be one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"passwords have at least {MIN_PASSWORD_LENGTH} characters")


async def find_user(session: AsyncSession, username: str) -> User | None:
    """The user named ``username``, or None."""
    return await session.scalar(select(User).where(User.username == username))


async def get_user(session: AsyncSession, username: str) -> User:
    """The user named ``username``, or raise NotFoundError."""
    user = await find_user(session, username)
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


async def list_users(store: Store) -> list[User]:
    """Every user, by name."""
    async with store.session() as session:
        return list((await session.scalars(select(User).order_by(User.username))).all())


async def create_user(store: Store, username: str, password: str, role: Role) -> User:
    """Add an account; ConflictError if the name is taken."""
    check_username(username)
    check_password(password)
    password_hash = await hash_password_async(password)
    async with store.transaction() as session:
        if await find_user(session, username) is not None:
            raise ConflictError(f"user {username!r} exists already")
        user = User(username=username, password_hash=password_hash, role=role.value)
        session.add(user)
    return user


async def _other_enabled_admins(session: AsyncSession, user: User) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin.value, User.disabled.is_(False), User.id != user.id)
    )
    return count or 0


async def _guard_last_admin(session: AsyncSession, user: User, what: str) -> None:
    if user.role == Role.admin.value and not user.disabled:
        if await _other_enabled_admins(session, user) == 0:
            raise ConflictError(
                f"cannot {what} {user.username!r}: it is the last enabled admin",
                hint="make another user admin first",
            )


async def update_user(
    store: Store,
    username: str,
    *,
    password: str | None = None,
    role: Role | None = None,
    disabled: bool | None = None,
) -> User:
    """Change a user's password, role or disabled flag (only what is given)."""
    if password is not None:
        check_password(password)
    new_hash = await hash_password_async(password) if password is not None else None
    async with store.transaction() as session:
        user = await get_user(session, username)
        if role is not None and role != Role.admin:
            await _guard_last_admin(session, user, "demote")
        if disabled:
            await _guard_last_admin(session, user, "disable")
        if role is not None:
            user.role = role.value
        if disabled is not None:
            user.disabled = disabled
        if new_hash is not None:
            user.password_hash = new_hash
        if new_hash is not None or disabled:
            await session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return user


async def delete_user(store: Store, username: str) -> None:
    """Remove an account with its sessions and API tokens."""
    async with store.transaction() as session:
        user = await get_user(session, username)
        await _guard_last_admin(session, user, "delete")
        await session.delete(user)


async def ensure_admin(store: Store, password: str | None) -> tuple[bool, str | None]:
    """On first start (no users at all), create ``admin``.

    Returns:
        Whether the account was created, and the generated password when none was
        configured (to be shown once).
    """
    async with store.session() as session:
        if await session.scalar(select(func.count()).select_from(User)):
            return False, None
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(18)
    await create_user(store, ADMIN_USERNAME, password, Role.admin)
    return True, generated
