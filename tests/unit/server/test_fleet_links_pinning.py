"""A link accepts only the agent certificate enrolled for its node (real TLS on loopback)."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from fleetdeck import pki
from fleetdeck.errors import PermissionDeniedError
from fleetdeck.server.fleet.inventory import FleetInventory
from fleetdeck.server.fleet.links import AgentLink, ClientTLS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


def _write(ca: pki.CertificateAuthority, directory: Path, name: str, cn: str) -> tuple[Path, str]:
    key = pki.new_key()
    cert = ca.issue(cn, key.public_key(), ip_addresses=["127.0.0.1"])
    pki.write_private(directory / f"{name}.key", pki.key_pem(key))
    (directory / f"{name}.pem").write_bytes(pki.cert_pem(cert))
    return directory / name, str(cert.serial_number)


@pytest.fixture
async def agent(tmp_path: Path) -> AsyncIterator[tuple[str, str, ClientTLS]]:
    ca = pki.CertificateAuthority.create()
    (tmp_path / "ca.pem").write_bytes(pki.cert_pem(ca.cert))
    agent_base, agent_serial = _write(ca, tmp_path, "agent", "agent:env/node")
    server_base, _ = _write(ca, tmp_path, "server", pki.SERVER_CLIENT_CN)
    app = web.Application()

    async def info(_: web.Request) -> web.Response:
        return web.json_response({"hostname": "node"})

    app.router.add_get("/v1/info", info)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(f"{agent_base}.pem", f"{agent_base}.key")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    tls = ClientTLS(
        ca_cert=tmp_path / "ca.pem",
        cert=server_base.with_suffix(".pem"),
        key=server_base.with_suffix(".key"),
    )
    yield f"https://127.0.0.1:{port}", agent_serial, tls
    await runner.cleanup()


async def test_the_enrolled_certificate_is_accepted(agent: tuple[str, str, ClientTLS]) -> None:
    url, serial, tls = agent
    link = AgentLink("env", "node", url, tls, FleetInventory(), cert_serial=serial)
    try:
        assert await link.call("GET", "/v1/info") == {"hostname": "node"}
    finally:
        await link.close()


async def test_another_certificate_of_our_ca_is_refused(agent: tuple[str, str, ClientTLS]) -> None:
    url, serial, tls = agent
    link = AgentLink("env", "node", url, tls, FleetInventory(), cert_serial=str(int(serial) + 1))
    try:
        with pytest.raises(PermissionDeniedError, match="revoked or replaced"):
            await link.call("GET", "/v1/info")
    finally:
        await link.close()
