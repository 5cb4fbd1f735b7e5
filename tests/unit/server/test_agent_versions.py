"""The server records each agent's version and protocol, flags old ones, refuses too-old ones.

A stand-in agent enrolled through the real API (real TLS on loopback) sends a snapshot whose
host information says which agent it is: v0.1.0 (a version, no protocol: protocol 1), this
release, or one a protocol older than the server still works with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from fleetdeck import __version__
from fleetdeck.errors import AgentIncompatibleError
from fleetdeck.protocol import OLDEST_AGENT_PROTOCOL, PROTOCOL_VERSION
from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.inventory import NodeStatus
from fleetdeck.server.fleet.repository import SqlFleetRepository

from .conftest import bearer
from .enrolled_agent import enrolled_agent, is_up, wait_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import FastAPI

    from .enrolled_agent import EnrolledAgent


def agent_app(**reported: Any) -> web.Application:
    """An agent whose inventory stream is one snapshot with ``reported`` in its info."""
    info = {"hostname": "fake-host", "engine_state": "up", **reported}
    snapshot = {"type": "snapshot", "rev": 1, "info": info, "containers": []}
    released = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the server let go (a refused agent)
            await response.write(json.dumps(snapshot).encode() + b"\n")
            while not released.is_set():
                await response.write(b'{"type": "heartbeat", "rev": 1}\n')
                await asyncio.sleep(0.5)
        return response

    async def info_route(_: web.Request) -> web.Response:
        return web.json_response(info)

    app = web.Application()
    app.router.add_get("/v1/inventory/stream", stream)
    app.router.add_get("/v1/info", info_route)
    app.on_shutdown.append(lambda _: _release(released))
    return app


async def _release(event: asyncio.Event) -> None:
    event.set()


async def _stored(app: FastAPI, env: str) -> tuple[str | None, int | None, str | None]:
    records = await SqlFleetRepository(context_of(app).store).list_environments()
    node = next(e for e in records if e.name == env).nodes[0]
    return node.agent_version, node.agent_protocol, node.agent_commit


@pytest.fixture
async def served(
    request: pytest.FixtureRequest, app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> AsyncIterator[EnrolledAgent]:
    reported: dict[str, Any] = request.param
    async with enrolled_agent(app, client, admin_token, agent_app(**reported), "skew") as agent:
        yield agent


V010 = {"agent_version": "0.1.0"}
CURRENT = {
    "agent_version": __version__,
    "agent_protocol": PROTOCOL_VERSION,
    "agent_commit": "c0ffee",
}
TOO_OLD = {"agent_version": "0.0.1", "agent_protocol": OLDEST_AGENT_PROTOCOL - 1}


@pytest.mark.parametrize("served", [V010], indirect=True)
async def test_a_v010_agent_works_and_shows_outdated_with_protocol_1(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, served: EnrolledAgent
) -> None:
    await wait_for(lambda: is_up(served.link))
    assert await served.link.call("GET", "/v1/info")  # operations go through
    env = (await client.get("/api/v1/environments/skew", headers=bearer(admin_token))).json()
    node = env["nodes"][0]
    assert (node["agent_version"], node["agent_protocol"], node["agent_outdated"]) == (
        "0.1.0", 1, True,
    )  # fmt: skip
    assert (env["agent_version"], env["agent_protocol"], env["agent_outdated"]) == (
        "0.1.0",
        1,
        True,
    )
    # Recorded in the store (what `env ls` shows while the node is off, or after a restart).
    await wait_for(lambda: not context_of(app).fleet._recording)
    assert await _stored(app, "skew") == ("0.1.0", 1, None)
    # The UI's environments page and the environment's page say so too.
    client.cookies.set("fleetdeck_session", admin_token)
    try:
        for path in ("/environments", "/environments/skew"):
            page = (await client.get(path)).text
            assert 'title="protocol 1">0.1.0</span>' in page, path
            assert '<span class="badge outdated"' in page, path
    finally:
        client.cookies.clear()


@pytest.mark.parametrize("served", [CURRENT], indirect=True)
async def test_an_agent_of_this_release_is_not_outdated(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, served: EnrolledAgent
) -> None:
    await wait_for(lambda: is_up(served.link))
    listed = (await client.get("/api/v1/environments", headers=bearer(admin_token))).json()
    env = next(e for e in listed if e["name"] == "skew")
    assert env["nodes"][0]["agent_commit"] == "c0ffee"
    assert (env["agent_version"], env["agent_protocol"], env["agent_outdated"]) == (
        __version__, PROTOCOL_VERSION, False,
    )  # fmt: skip
    await wait_for(lambda: not context_of(app).fleet._recording)
    assert await _stored(app, "skew") == (__version__, PROTOCOL_VERSION, "c0ffee")


@pytest.mark.parametrize("served", [TOO_OLD], indirect=True)
async def test_an_agent_older_than_one_protocol_back_is_refused_with_its_reason(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, served: EnrolledAgent
) -> None:
    link = served.link

    def refused() -> bool:
        state = link.inventory.find_node(link.environment, link.node)
        return state is not None and state.status is NodeStatus.incompatible

    await wait_for(refused)
    with pytest.raises(AgentIncompatibleError, match="speaks protocol 0") as caught:
        await link.call("GET", "/v1/info")
    assert "upgrade" in (caught.value.hint or "")
    env = (await client.get("/api/v1/environments/skew", headers=bearer(admin_token))).json()
    node = env["nodes"][0]
    assert env["status"] == node["status"] == "incompatible"
    assert "needs protocol 1 or newer" in node["error"]
    assert (node["agent_version"], node["agent_protocol"]) == ("0.0.1", 0)
    # An operation on the node answers with the kind, not a 500.
    volume = await client.post(
        "/api/v1/volumes", json={"environment": "skew", "name": "v1"}, headers=bearer(admin_token)
    )
    assert volume.status_code == 409 and volume.json()["error"] == "agent_incompatible"
