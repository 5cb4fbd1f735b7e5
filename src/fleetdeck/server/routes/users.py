"""``/users``: accounts, managed by admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import Field

from fleetdeck.server.audit import audited
from fleetdeck.server.auth import users
from fleetdeck.server.auth.deps import Admin  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.wire.auth import Role, User
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fleetdeck.server.store.models import User as StoredUser

router = APIRouter(tags=["users"])


def user_out(user: StoredUser) -> User:
    """A stored user as the API serves it."""
    return User(
        username=user.username,
        role=Role(user.role),
        created_at=user.created_at,
        disabled=user.disabled,
    )


class UserCreate(RequestBody):
    """``POST /users``."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(max_length=1024)
    role: Role = Role.viewer


class UserPatch(RequestBody):
    """``PATCH /users/{username}``: only the fields given change."""

    password: str | None = Field(default=None, max_length=1024)
    role: Role | None = None
    disabled: bool | None = None


@router.get("/users")
async def list_users(ctx: Ctx, who: Admin) -> list[User]:
    """Every account."""
    return [user_out(u) for u in await users.list_users(ctx.store)]


@router.post("/users", status_code=201)
async def create_user(body: UserCreate, request: Request, ctx: Ctx, who: Admin) -> User:
    """Add an account."""
    async with audited(request, who.username, "user.create", body.username, {"role": body.role}):
        user = await users.create_user(ctx.store, body.username, body.password, body.role)
    return user_out(user)


@router.patch("/users/{username}")
async def update_user(
    username: str, body: UserPatch, request: Request, ctx: Ctx, who: Admin
) -> User:
    """Change an account's password, role or disabled flag."""
    detail: dict[str, Any] = body.model_dump(exclude_none=True, exclude={"password"})
    if body.password is not None:
        detail["password"] = "changed"  # noqa: S105 - an audit note, not a password
    async with audited(request, who.username, "user.update", username, detail):
        user = await users.update_user(
            ctx.store,
            username,
            password=body.password,
            role=body.role,
            disabled=body.disabled,
        )
    return user_out(user)


@router.delete("/users/{username}")
async def delete_user(username: str, request: Request, ctx: Ctx, who: Admin) -> dict[str, bool]:
    """Remove an account, its sessions and its API tokens."""
    async with audited(request, who.username, "user.delete", username):
        await users.delete_user(ctx.store, username)
    return {"ok": True}
