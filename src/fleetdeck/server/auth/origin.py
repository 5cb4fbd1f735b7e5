"""Cross-site request forgery: cookie-authenticated changes only from this server's own pages.

The session cookie is ``SameSite=Strict``, but a *site* ignores the port: a page served from
another port of the same host (another app, a container publishing a port) is same-site and
its form posts carry the cookie. So every state-changing request (any method but GET, HEAD,
OPTIONS) that authenticates with the cookie must come from this server's origin:

- ``Sec-Fetch-Site``, when the browser sends it, must be ``same-origin`` (``same-site``,
  ``cross-site`` and ``none`` are refused);
- ``Origin`` must be present and equal this server's origin (the request's scheme and
  ``Host`` header, default ports dropped; behind a trusted proxy the scheme is the one it
  reports, see :mod:`fleetdeck.server.forwarded`), the ``public_url``'s, or one of
  ``trusted_origins``. ``null`` (sandboxed frames,
  ``file:``, some redirects) is refused.

Requests with ``Authorization: Bearer`` never use the cookie (see
:func:`fleetdeck.server.auth.deps.credential`): a browser cannot be made to send that header
across origins, so the CLI, scripts and Prometheus are unaffected. Every browser that sends a
cookie on a POST also sends ``Origin``, so requiring it refuses nothing legitimate.

Checked where credentials are resolved (:func:`fleetdeck.server.auth.deps.authenticate`), so
no route can forget it; the console's WebSocket goes through the same check (a WebSocket
handshake is a GET, but opening a shell is a change).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fleetdeck.errors import PermissionDeniedError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from starlette.requests import HTTPConnection

#: Methods that change nothing (RFC 9110 safe methods): never checked.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HINT = (
    "the web UI sends these from its own pages; scripts should send Authorization: Bearer "
    "with an API token (behind a reverse proxy, set FLEETDECK_PUBLIC_URL and "
    "FLEETDECK_FORWARDED_ALLOW_IPS)"
)


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` lowercased without a default port, or None if not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return (
        f"{scheme}://{host}"
        if port in (None, _DEFAULT_PORTS[scheme])
        else f"{scheme}://{host}:{port}"
    )


def own_origin(connection: HTTPConnection) -> str | None:
    """This server's origin as the client addressed it: the request scheme and Host header."""
    host = connection.headers.get("host")
    if not host:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(connection.url.scheme, connection.url.scheme)
    return normalize_origin(f"{scheme}://{host}")


def check_same_origin(connection: HTTPConnection, trusted: Iterable[str] = ()) -> None:
    """Raise PermissionDeniedError unless the browser says this request is from our origin.

    Args:
        connection: The request or WebSocket.
        trusted: Further origins allowed (already normalised, or normalisable).
    """
    fetch_site = connection.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() != "same-origin":
        raise PermissionDeniedError(
            f"cross-site request refused (Sec-Fetch-Site: {fetch_site})", hint=_HINT
        )
    origin = connection.headers.get("origin")
    if origin is None:
        raise PermissionDeniedError(
            "a change authenticated by the session cookie needs an Origin header", hint=_HINT
        )
    wanted = {own_origin(connection)} | {normalize_origin(t) for t in trusted}
    wanted.discard(None)
    if normalize_origin(origin) not in wanted:
        raise PermissionDeniedError(f"cross-origin request refused (Origin: {origin})", hint=_HINT)


def check_not_cross_site(connection: HTTPConnection, trusted: Iterable[str] = ()) -> None:
    """Like :func:`check_same_origin`, but a request without browser headers passes.

    For the login form (no cookie is needed to post it, so the CLI sends no Origin): a
    page of another origin must not log a victim's browser in to an account of its choosing.
    """
    if (
        connection.headers.get("origin") is None
        and connection.headers.get("sec-fetch-site") is None
    ):
        return
    check_same_origin(connection, trusted)
