"""Behind a reverse proxy: the real client and scheme, believed only from trusted proxies.

A TLS-terminating proxy (Caddy, nginx) connects to the server itself, so the TCP peer is the
proxy and the scheme may be plain HTTP. It says who the client was in ``X-Forwarded-For`` and
how it came in ``X-Forwarded-Proto``; any client can send those headers too, so they are
believed only when the TCP peer is in ``forwarded_allow_ips`` (addresses or CIDR ranges).
:class:`ForwardedMiddleware` then rewrites the ASGI scope's ``client`` and ``scheme`` before
anything reads them, so every part sees the real client: the audit log (``ip`` of each
entry), login throttling, the secure cookie, HSTS and the Origin check of
:mod:`fleetdeck.server.auth.origin` (the browser's ``https://`` origin against the request's
believed scheme and its ``Host``).

``X-Forwarded-For`` is read from the right: the proxy nearest the server appends the address
it saw, so the first address from the right that is not itself a trusted proxy is the client
(whatever a client put at the left of the list is ignored). ``X-Forwarded-Host`` is not
read: both documented proxy configurations pass the browser's ``Host`` on, and the public
URL (``public_url``) covers a proxy that rewrites it.

Ours rather than uvicorn's ``proxy_headers``: it is part of the app (so the in-process test
server and every ASGI server behave the same) and takes CIDR ranges on every uvicorn version.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from starlette.requests import HTTPConnection
    from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_WS_SCHEME = {"http": "ws", "https": "wss"}
#: A header longer than this is not a proxy's list (and is not parsed).
MAX_HEADER = 4096


def parse_networks(values: Iterable[str]) -> list[Network]:
    """``["10.0.0.5", "192.168.1.0/24", "::1"]`` as networks; ValueError names a bad one.

    ``*`` (believe every peer, uvicorn's spelling) is refused: it would let any client pick
    its own address, which is what the setting exists to prevent.
    """
    networks: list[Network] = []
    for value in values:
        text = value.strip()
        if text == "*":
            raise ValueError("'*' would believe any client: name the proxies' addresses")
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an address or CIDR range: {value!r}") from None
    return networks


def client_address(connection: HTTPConnection) -> str:
    """The client of a request or WebSocket: what the audit log records, logins are counted by.

    The TCP peer, unless it is a proxy named in ``forwarded_allow_ips``, whose
    ``X-Forwarded-For`` :class:`ForwardedMiddleware` has then believed: a header any client
    can send is never trusted by default.
    """
    return connection.client.host if connection.client else "unknown"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _joined(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers") or [] if k.lower() == name]
    return ",".join(values)


class ForwardedMiddleware:
    """Believe ``X-Forwarded-For``/``-Proto`` from the ``trusted`` proxies only.

    Args:
        app: The application.
        trusted: The proxies' addresses and ranges (:func:`parse_networks`).
    """

    def __init__(self, app: ASGIApp, trusted: Iterable[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    def is_trusted(self, host: str) -> bool:
        """Whether ``host`` (an address) is one of the trusted proxies."""
        address = _address(host)
        return address is not None and any(address in net for net in self.trusted)

    def client_of(self, peer: str, forwarded_for: str) -> str:
        """The client address: the rightmost of ``forwarded_for`` that is not a trusted proxy.

        An entry that is not an address (``unknown``, garbage) ends the walk there: what lies
        left of it cannot be vouched for, so the last trusted hop's word is kept.
        """
        client = peer
        for hop in reversed(forwarded_for.split(",")):
            address = _address(hop)
            if address is None:
                break
            client = str(address)
            if not any(address in net for net in self.trusted):
                break
        return client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite ``client`` and ``scheme`` of a request from a trusted proxy."""
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            if peer and self.is_trusted(str(peer[0])):
                scope = dict(scope)
                # Repeated headers are one comma-separated list (RFC 9110 5.3), in order.
                forwarded_for = _joined(scope, b"x-forwarded-for")
                if forwarded_for and len(forwarded_for) <= MAX_HEADER:
                    scope["client"] = (self.client_of(str(peer[0]), forwarded_for), 0)
                proto = _joined(scope, b"x-forwarded-proto").split(",")[-1].strip().lower()
                if proto in _WS_SCHEME:
                    scope["scheme"] = proto if scope["type"] == "http" else _WS_SCHEME[proto]
        await self.app(scope, receive, send)
