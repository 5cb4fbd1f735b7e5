"""Request body limits, enforced before any route (and so before any authentication) runs.

FastAPI reads and parses a request's body *before* it solves the route's dependencies, the
authentication among them: without a limit in front, anyone could make the server buffer
and parse 50 MB and only then learn it needs a login. :class:`BodyLimitMiddleware` (pure
ASGI, so it sees the raw ``receive`` stream) sits in front of the whole app:

- every request may send :data:`DEFAULT_BODY_LIMIT` (1 MiB, below the Kubernetes API
  server's 3 MiB): a ``Content-Length`` over it is answered 413 at once, without reading
  the body; a body without a length (chunked) is cut the moment it passes the limit;
- a route that needs more declares it where it is defined, with FastAPI's own
  ``max_body_size=`` (the stack routes: :data:`STACK_BODY_LIMIT`, a stack's 64 MiB of files
  as JSON with base64); that larger limit applies only when the request carries a valid
  session or API token, checked here before a byte of the body is read. An unauthenticated
  request keeps the default limit on every route.

Checking the credential here, rather than in a dependency that streams the body, keeps the
routes' code as it is (they take parsed pydantic bodies) and keeps the rule in one place,
at the root; the route then authenticates as always (one more token lookup, only for
requests whose body is over the default). 413 responses say ``Connection: close`` so the
server drops the rest of an oversized upload instead of reading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import routing
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.routing import compile_path

from fleetdeck.errors import FleetdeckError, PayloadTooLargeError
from fleetdeck.server.handlers import error_body

if TYPE_CHECKING:
    import re

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024
#: What any request may send, logged in or not.
DEFAULT_BODY_LIMIT = 1 * MIB
#: Routes that take a stack's files (64 MiB in all, binary ones base64-encoded: x 4/3).
STACK_BODY_LIMIT = 96 * MIB


@dataclass(frozen=True)
class RouteLimit:
    """One route's body limit, as :class:`BodyLimitMiddleware` applies it."""

    method: str
    path: str
    #: The route's declared ``max_body_size`` (for authenticated callers), or None: default.
    declared: int | None
    pattern: re.Pattern[str]


def route_limits(app: Any) -> list[RouteLimit]:
    """Every API route of ``app`` with its declared limit, in routing order."""
    found = []
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, routing.APIRoute) and context.path and context.methods:
            pattern = compile_path(context.path)[0]
            declared = getattr(route, "max_body_size", None)
            for method in sorted(context.methods):
                found.append(RouteLimit(method, context.path, declared, pattern))
    return found


class BodyTooLargeError(Exception):
    """Raised from ``receive`` when a streamed body passes its limit (the app is cut off)."""


class BodyLimitMiddleware:
    """Refuse request bodies over their route's limit with 413, before the app reads them.

    Args:
        app: The ASGI app to guard.
        default_limit: The limit of every route for everyone (bytes).
    """

    def __init__(self, app: ASGIApp, default_limit: int = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.default_limit = default_limit
        self._table: list[RouteLimit] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a counting ``receive``, or answer 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = _declared_length(scope)
        limit, declared = self.default_limit, None
        if chunked or (length is not None and length > self.default_limit):
            declared = self.declared_limit(scope)
            if declared is not None and declared > limit and await _authenticated(scope):
                limit = declared
        if length is not None and length > limit:
            await _refuse(scope, send, limit, declared, length)
            return
        await self._guarded(scope, receive, send, limit, declared)

    def declared_limit(self, scope: Scope) -> int | None:
        """The ``max_body_size`` of the route that will answer ``scope``, if it declares one."""
        if self._table is None:
            self._table = route_limits(scope["app"])
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        method = scope["method"]
        for entry in self._table:
            if entry.method == method and entry.pattern.match(path):
                return entry.declared
        return None

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, limit: int, declared: int | None
    ) -> None:
        received = 0
        cut = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, cut
            if cut:
                raise BodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut = True
                    raise BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if cut and not started:
                return  # the app's answer to a cut-off body; the 413 goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not cut or started:
                raise
        if cut and not started:
            await _refuse(scope, send, limit, declared, None)


def _declared_length(scope: Scope) -> tuple[int | None, bool]:
    """``Content-Length`` (None if absent or unreadable) and whether the body is chunked."""
    length: int | None = None
    chunked = False
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


async def _authenticated(scope: Scope) -> bool:
    """Whether the request carries a valid session or API token (nothing is cached)."""
    from fleetdeck.server.auth.deps import authenticate

    try:
        # A state of its own: the route authenticates on its own, exactly as without us.
        await authenticate(Request({**scope, "state": {}}))
    except FleetdeckError:
        return False
    return True


async def _refuse(
    scope: Scope, send: Send, limit: int, declared: int | None, length: int | None
) -> None:
    size = f"of {length} bytes " if length is not None else ""
    error = PayloadTooLargeError(
        f"request body {size}is over the {limit} bytes this request may send",
        hint=(
            f"this route takes up to {declared} bytes from a logged-in caller: "
            "log in, or send a valid API token"
            if declared is not None and declared > limit
            else None
        ),
    )
    response = JSONResponse(
        error_body(error.kind, error.message, error.hint),
        status_code=error.http_status,
        headers={"Connection": "close"},
    )
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
