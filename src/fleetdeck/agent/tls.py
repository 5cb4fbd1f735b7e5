"""Mutual TLS for the agent's API: its credentials on disk, its server context, the CN check.

The agent answers only the fleetdeck server: the TLS handshake requires a client certificate
signed by the fleetdeck CA (a client without one never gets to HTTP), and
:func:`server_client_middleware` then requires that certificate's common name to be
:data:`fleetdeck.pki.SERVER_CLIENT_CN`, because every agent's own certificate is signed by the
same CA and one agent must not be able to drive another.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fleetdeck.errors import PermissionDeniedError

if TYPE_CHECKING:
    from pathlib import Path

    from aiohttp.typedefs import Handler

#: The same value as :data:`fleetdeck.pki.SERVER_CLIENT_CN` (a unit test keeps them equal).
#: It is not imported from there because :mod:`fleetdeck.pki` loads ``cryptography``, about
#: 8 MB of resident memory an enrolled agent otherwise never needs.
SERVER_CLIENT_CN = "fleetdeck-server"


@dataclass(frozen=True)
class AgentCredentials:
    """Where an agent keeps its key, certificate, CA and enrolment record (its state dir)."""

    state_dir: Path

    @property
    def key_path(self) -> Path:
        """The agent's private key (0600)."""
        return self.state_dir / "agent.key"

    @property
    def cert_path(self) -> Path:
        """The agent's certificate, signed by the fleetdeck CA."""
        return self.state_dir / "agent.pem"

    @property
    def ca_path(self) -> Path:
        """The fleetdeck CA's certificate."""
        return self.state_dir / "ca.pem"

    @property
    def record_path(self) -> Path:
        """What enrolment answered (environment, node, server), for operators and restarts."""
        return self.state_dir / "enrolment.json"

    def exist(self) -> bool:
        """Whether the agent is enrolled (key, certificate and CA are all present)."""
        return all(p.is_file() for p in (self.key_path, self.cert_path, self.ca_path))

    def remove(self) -> None:
        """Delete key and certificate (the server revoked this agent)."""
        for path in (self.key_path, self.cert_path, self.record_path):
            path.unlink(missing_ok=True)


def server_ssl_context(creds: AgentCredentials) -> ssl.SSLContext:
    """The agent's server-side context: its own cert, client certificates required."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(creds.cert_path, creds.key_path)
    context.load_verify_locations(cafile=str(creds.ca_path))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_ssl_context(cert_path: Path, key_path: Path, ca_path: Path) -> ssl.SSLContext:
    """A client context that presents ``cert_path`` and trusts only the fleetdeck CA."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_path))
    context.load_cert_chain(cert_path, key_path)
    return context


def peer_common_name(peercert: dict[str, Any] | None) -> str | None:
    """The common name of a verified peer certificate (``SSLSocket.getpeercert()`` form)."""
    for rdn in (peercert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


@web.middleware
async def server_client_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse (403) any verified client that is not the fleetdeck server."""
    transport = request.transport
    peercert = transport.get_extra_info("peercert") if transport is not None else None
    if peer_common_name(peercert) != SERVER_CLIENT_CN:
        raise PermissionDeniedError("only the fleetdeck server may call this agent")
    return await handler(request)
