"""A link accepts only the agent certificate enrolled for its node (real TLS on loopback)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from fleetdeck.errors import PermissionDeniedError
from fleetdeck.server.fleet.inventory import FleetInventory
from fleetdeck.server.fleet.links import AgentLink, ClientTLS

from .tls_agent import serve_agent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


@pytest.fixture
async def agent(tmp_path: Path) -> AsyncIterator[tuple[str, str, ClientTLS]]:
    app = web.Application()

    async def info(_: web.Request) -> web.Response:
        return web.json_response({"hostname": "node"})

    app.router.add_get("/v1/info", info)
    async with serve_agent(app, tmp_path) as served:
        yield served.url, served.serial, served.tls


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
