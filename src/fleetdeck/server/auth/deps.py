"""FastAPI dependencies that authenticate a request and check its role.

Usage in a route (the fleet routes use exactly these)::

    @router.post("/containers/{ref}/start")
    async def start(ref: str, who: Annotated[Principal, Depends(require(Role.operator))]): ...

or with the aliases: ``who: Operator``. A missing or invalid credential answers 401, a valid
one without the role 403 naming the role needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from fleetdeck.errors import PermissionDeniedError, UnauthenticatedError
from fleetdeck.server.auth.origin import SAFE_METHODS, check_same_origin
from fleetdeck.server.auth.principal import Principal
from fleetdeck.server.auth.sessions import COOKIE_NAME, SESSION_PREFIX, session_user
from fleetdeck.server.auth.tokens import TOKEN_PREFIX, token_user
from fleetdeck.server.context import context_of
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.clock import Clock
    from fleetdeck.server.store import Store

__all__ = ["Admin", "Operator", "Principal", "Viewer", "authenticate", "credential", "require"]


def credential(request: Request) -> str | None:
    """The bearer token of the request (header first, then the session cookie)."""
    return _credential(request)[0]


def _credential(request: Request) -> tuple[str | None, bool]:
    """The bearer token and whether it came from the cookie (which browsers send by themselves)."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        return (value.strip() if scheme.lower() == "bearer" and value.strip() else None), False
    cookie = request.cookies.get(COOKIE_NAME) or None
    return cookie, cookie is not None


async def _resolve(store: Store, token: str, clock: Clock) -> Principal | None:
    if token.startswith(TOKEN_PREFIX):
        found = await token_user(store, token, clock)
        if found is None or found[1].disabled:
            return None
        api_token, user = found
        role = min(Role(api_token.role), Role(user.role), key=lambda r: r.rank)
        return Principal(user.username, role, api_token.id)
    if token.startswith(SESSION_PREFIX):
        session_owner = await session_user(store, token, clock)
        if session_owner is None or session_owner.disabled:
            return None
        return Principal(session_owner.username, Role(session_owner.role))
    return None


async def authenticate(request: Request) -> Principal:
    """The caller of ``request`` (cached on ``request.state``), or raise 401.

    A state-changing request authenticated by the session cookie must come from this
    server's own origin (403 otherwise; see :mod:`fleetdeck.server.auth.origin`), as must
    a WebSocket authenticated by it.
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token, from_cookie = _credential(request)
    if token is None:
        raise UnauthenticatedError(
            "authentication required", hint="log in, or send Authorization: Bearer TOKEN"
        )
    state = context_of(request)
    clock = state.clock
    principal = await _resolve(state.store, token, clock)
    if principal is None:
        raise UnauthenticatedError(
            "invalid or expired credentials", hint="log in again or use a valid API token"
        )
    if from_cookie and (request.scope["type"] == "websocket" or request.method not in SAFE_METHODS):
        check_same_origin(request, state.settings.allowed_origins)
    request.state.principal = principal
    return principal


def require(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that authenticates the request and demands at least ``role``."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.role.allows(role):
            raise PermissionDeniedError(
                f"this needs the {role} role; you have {principal.role}",
                hint="ask an admin for a higher role"
                if principal.token_id is None
                else "this API token's role is too low for it",
            )
        return principal

    dependency.__name__ = f"require_{role.value}"
    return dependency


Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Operator = Annotated[Principal, Depends(require(Role.operator))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
