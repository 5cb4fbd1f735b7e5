"""``/auth``: log in (session token + cookie), log out, and who am I."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from pydantic import Field

from fleetdeck.errors import UnauthenticatedError
from fleetdeck.server.auth.deps import Viewer, credential
from fleetdeck.server.auth.origin import check_not_cross_site
from fleetdeck.server.auth.sessions import (
    COOKIE_NAME,
    SESSION_PREFIX,
    check_credentials,
    close_session,
    open_session,
)
from fleetdeck.server.auth.users import find_user
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.forwarded import client_address
from fleetdeck.server.routes.users import user_out
from fleetdeck.wire.auth import LoginResult, Me
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.auth.ratelimit import LoginRateLimiter
    from fleetdeck.server.config import ServerSettings

router = APIRouter(tags=["auth"])


class LoginBody(RequestBody):
    """``POST /auth/login``."""

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(max_length=1024)


@router.post("/auth/login")
async def login(body: LoginBody, request: Request, ctx: Ctx, response: Response) -> LoginResult:
    """Check a username and password; start a session.

    A browser page of another origin may not post it (login CSRF); the attempt is counted
    against the limits before the password is checked, so concurrent guesses cannot race it.
    """
    limiter: LoginRateLimiter = ctx.login_limiter
    audit: AuditLog = ctx.audit
    settings: ServerSettings = ctx.settings
    check_not_cross_site(request, settings.allowed_origins)
    ip = client_address(request)
    attempt = limiter.attempt(body.username, ip)
    try:
        user = await check_credentials(ctx.store, body.username, body.password)
    except UnauthenticatedError as exc:
        await audit.record_failed_login(body.username, ip, exc.message)
        raise
    attempt.succeeded()
    ttl = timedelta(hours=settings.session_ttl_hours)
    token, expires_at = await open_session(ctx.store, user, ttl, ctx.clock)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(ttl.total_seconds()),
        path="/",
        # Over HTTPS as the browser sees it: the server's own TLS, or a trusted proxy's.
        secure=settings.tls or request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    await audit.record(user.username, "auth.login", user.username, "ok", {"ip": ip})
    return LoginResult(token=token, user=user_out(user), expires_at=expires_at)


@router.post("/auth/logout")
async def logout(request: Request, ctx: Ctx, response: Response, who: Viewer) -> dict[str, bool]:
    """End the caller's session (an API token stays valid: revoke it under /tokens)."""
    token = credential(request)
    ended = False
    if token is not None and token.startswith(SESSION_PREFIX):
        ended = await close_session(ctx.store, token)
    response.delete_cookie(COOKIE_NAME, path="/")
    audit: AuditLog = ctx.audit
    await audit.record(
        who.username, "auth.logout", who.username, "ok", {"ip": client_address(request)}
    )
    return {"ok": True, "session_ended": ended}


@router.get("/auth/me")
async def me(ctx: Ctx, who: Viewer) -> Me:
    """The caller's account."""
    async with ctx.store.session() as session:
        user = await find_user(session, who.username)
    if user is None:
        raise UnauthenticatedError("the account no longer exists")
    out = user_out(user)
    return Me(**out.model_dump() | {"role": who.role}, token_id=who.token_id)
