"""A stand-in agent enrolled through the server's real API, over real TLS on loopback.

Unlike :mod:`tests.unit.server.tls_agent` (a CA of its own), this one holds a node
certificate issued by the server's own CA through ``POST /agents/enrol``: it is what a fake
agent on a compromised host would hold, and the server's link to it is the one the API uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from fleetdeck import pki
from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.inventory import NodeStatus

from .conftest import bearer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.fleet.links import AgentLink


@dataclass(frozen=True)
class EnrolledAgent:
    """The stand-in's environment and node as the server named them, and the server's link."""

    environment: str
    node: str
    link: AgentLink


async def wait_for(condition: object, timeout: float = 20.0) -> None:
    """Poll ``condition()`` until it is true (fails the test after ``timeout`` seconds)."""
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def enrolled_agent(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, agent: web.Application, env: str
) -> AsyncIterator[EnrolledAgent]:
    """Serve ``agent`` with a certificate enrolled into a new environment ``env``.

    The socket is bound first (its URL goes in the enrolment) but listens only once the
    certificate the server signs is loaded: until then the server's link, started by the
    enrolment, is refused cleanly rather than failing a TLS handshake.
    """
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    runner = web.AppRunner(agent, shutdown_timeout=0.5)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    try:
        created = await client.post(
            "/api/v1/environments", json={"name": env}, headers=bearer(admin_token)
        )
        assert created.status_code == 201, created.text
        key = pki.new_key()
        csr = pki.make_csr(key, "fake-host").decode()
        # The key and certificate must be in place before the link's first handshake: the
        # fleet starts the link during the enrol call, but it connects only once it yields.
        enrolled = await client.post(
            "/api/v1/agents/enrol",
            json={
                "join_token": created.json()["join_token"],
                "csr_pem": csr,
                "listen_url": f"https://127.0.0.1:{port}",
                "hostname": "fake-host",
            },
        )
        assert enrolled.status_code == 200, enrolled.text
        body = enrolled.json()
        directory = context_of(app).settings.data_dir
        cert_path, key_path = directory / "fake-agent.pem", directory / "fake-agent.key"
        cert_path.write_text(body["cert_pem"])
        pki.write_private(key_path, pki.key_pem(key))
        ctx.load_cert_chain(cert_path, key_path)
        await web.SockSite(runner, sock, ssl_context=ctx).start()
        link = context_of(app).fleet.links.get(body["environment"], body["node"])
        try:
            yield EnrolledAgent(body["environment"], body["node"], link)
        finally:  # the server lets go first: no reconnect races the agent's shutdown
            await context_of(app).fleet.links.remove(body["environment"], body["node"])
    finally:
        await runner.cleanup()
        sock.close()


def is_up(link: AgentLink) -> bool:
    """Whether the server sees the link's node up."""
    state = link.inventory.find_node(link.environment, link.node)
    return state is not None and state.status is NodeStatus.up
