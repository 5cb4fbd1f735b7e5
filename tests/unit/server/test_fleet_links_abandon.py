"""A call in flight is abandoned once the inventory stream loses the node (real TLS on loopback).

A partitioned node never answers: without this, a deploy waits out a long call's own timeout
(ten minutes for a build or a container stop, none for a pull) before saying anything.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from fleetdeck.errors import NodeUnreachableError
from fleetdeck.server.fleet.inventory import FleetInventory, NodeStatus
from fleetdeck.server.fleet.links import AgentLink

from .tls_agent import serve_agent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


class Agent:
    """An agent whose inventory stream drops once a slow call has started (a partition)."""

    def __init__(self) -> None:
        self.slow_started = asyncio.Event()
        self.released = asyncio.Event()  # set at teardown: hanging handlers end
        self.streams = 0

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """The inventory stream: ends once a slow call started, the first time only."""
        self.streams += 1
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(json.dumps({"type": "heartbeat", "rev": 1}).encode() + b"\n")
        if self.streams == 1:
            await self.slow_started.wait()
            return response  # the stream ends: the server marks the node unreachable
        while not self.released.is_set():
            await asyncio.sleep(0.5)
            await response.write(json.dumps({"type": "heartbeat", "rev": 1}).encode() + b"\n")
        return response

    async def slow(self, _: web.Request) -> web.Response:
        """A call that never answers (a partitioned node)."""
        self.slow_started.set()
        await self.released.wait()
        return web.json_response({})

    async def lines(self, request: web.Request) -> web.StreamResponse:
        """A stream that sends one line, then nothing (a pull on a partitioned node)."""
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b'{"status": "pulling"}\n')
        self.slow_started.set()
        await self.released.wait()
        return response

    async def quick(self, _: web.Request) -> web.Response:
        """A call that answers at once."""
        return web.json_response({"ok": True})


@pytest.fixture
async def link(tmp_path: Path) -> AsyncIterator[AgentLink]:
    agent = Agent()
    app = web.Application()
    app.router.add_get("/v1/inventory/stream", agent.stream)
    app.router.add_post("/v1/slow", agent.slow)
    app.router.add_post("/v1/lines", agent.lines)
    app.router.add_get("/v1/quick", agent.quick)
    async with serve_agent(app, tmp_path) as served:
        link = AgentLink("env", "node", served.url, served.tls, FleetInventory())
        link.start()
        try:
            yield link
        finally:
            await link.close()
            agent.released.set()  # hanging handlers end, so the server can stop


async def _until_up(link: AgentLink) -> None:
    for _ in range(200):
        state = link.inventory.find_node("env", "node")
        if state is not None and state.status is NodeStatus.up:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the link never saw the node up")


async def test_a_call_in_flight_ends_when_the_node_is_lost(link: AgentLink) -> None:
    await _until_up(link)
    started = time.monotonic()
    with pytest.raises(NodeUnreachableError, match="became unreachable during the call"):
        await link.call("POST", "/v1/slow", timeout=600)
    assert time.monotonic() - started < 60  # not the call's own 600 s
    # once the stream is back, new calls go through again
    await _until_up(link)
    assert await link.call("GET", "/v1/quick") == {"ok": True}


async def test_a_stream_in_flight_ends_when_the_node_is_lost(link: AgentLink) -> None:
    await _until_up(link)
    seen: list[str] = []
    with pytest.raises(NodeUnreachableError, match="became unreachable during the call"):
        async for line in link.stream_lines("POST", "/v1/lines"):
            seen.append(line)
    assert seen == ['{"status": "pulling"}']
