"""Security headers on every HTTP response: the UI's pages, the API, static files, errors.

- ``Content-Security-Policy``: scripts only from this server (no inline script, no
  ``eval``), connections (fetch, the change feed, the console's WebSocket) only to it,
  nothing embeds the UI (``frame-ancestors 'none'``), no plugins, ``<base>`` pinned, forms
  post only here. Inline *styles* stay allowed: xterm.js writes its measured cell sizes and
  theme into ``<style>`` elements it creates at run time, and the capacity gauges and chart
  legends size and colour themselves with ``style`` attributes; a style cannot run code.
- ``X-Frame-Options: DENY`` for browsers older than ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``: a log line or a file served as text stays text.
- ``Referrer-Policy: same-origin``: container names and filters in URLs stay on this server.
- ``Strict-Transport-Security`` when the request came over HTTPS (directly, or through a
  proxy named in ``forwarded_allow_ips``): a browser that once saw the server over HTTPS
  will not be downgraded to HTTP.

A pure ASGI middleware, so streamed responses (NDJSON logs, pull progress) pass unbuffered;
headers a route set itself are left as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000"
_COMMON = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def headers_for(path: str, https: bool) -> list[tuple[bytes, bytes]]:
    """The security headers of a response to ``path`` (over HTTPS or not)."""
    headers = [(b"content-security-policy", CSP.encode()), *_COMMON]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeadersMiddleware:
    """Adds :func:`headers_for` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through; add the headers as the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""), scope.get("scheme") == "https")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(n, v) for n, v in extra if n not in present]
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI) -> None:
    """Add the middleware to ``app`` (outermost of the app's own, so errors get them too)."""
    app.add_middleware(SecurityHeadersMiddleware)
