"""A stand-in agent over real mutual TLS on loopback, for unit tests of the server's links.

The routes are the test's own (an aiohttp app); the CA, the agent's and the server's
certificates are real, so the link's TLS and certificate pinning run as in production.
"""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from fleetdeck import pki
from fleetdeck.server.fleet.links import ClientTLS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


@dataclass(frozen=True)
class ServedAgent:
    """Where the stand-in agent listens, its certificate's serial, and the server's TLS."""

    url: str
    serial: str
    tls: ClientTLS


def _write(ca: pki.CertificateAuthority, directory: Path, name: str, cn: str) -> tuple[Path, str]:
    key = pki.new_key()
    cert = ca.issue(cn, key.public_key(), ip_addresses=["127.0.0.1"])
    pki.write_private(directory / f"{name}.key", pki.key_pem(key))
    (directory / f"{name}.pem").write_bytes(pki.cert_pem(cert))
    return directory / name, str(cert.serial_number)


@contextlib.asynccontextmanager
async def serve_agent(app: web.Application, directory: Path) -> AsyncIterator[ServedAgent]:
    """Serve ``app`` over TLS with an agent certificate from a fresh CA written in ``directory``."""
    ca = pki.CertificateAuthority.create()
    (directory / "ca.pem").write_bytes(pki.cert_pem(ca.cert))
    agent_base, agent_serial = _write(ca, directory, "agent", "agent:env/node")
    server_base, _ = _write(ca, directory, "server", pki.SERVER_CLIENT_CN)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(f"{agent_base}.pem", f"{agent_base}.key")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    tls = ClientTLS(
        ca_cert=directory / "ca.pem",
        cert=server_base.with_suffix(".pem"),
        key=server_base.with_suffix(".key"),
    )
    try:
        yield ServedAgent(f"https://127.0.0.1:{port}", agent_serial, tls)
    finally:
        await runner.cleanup()
