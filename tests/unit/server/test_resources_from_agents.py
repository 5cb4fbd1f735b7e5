"""``GET /api/v1/images`` and ``/volumes`` validate what an agent answers, and filter it.

A stand-in agent enrolled through the server's real API (a certificate from the server's own
CA, as a compromised host would hold) answers the listings with good items between bad ones:
the bad ones are skipped and counted, the good ones carry the computed ``in_use`` and
``dangling``, and ``unused``, ``dangling`` and ``size`` reach the agent or filter as named.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from .conftest import bearer
from .enrolled_agent import enrolled_agent, is_up, wait_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import FastAPI

    from .enrolled_agent import EnrolledAgent

INFO = {"hostname": "fake-host", "engine_state": "up"}
IMAGES: list[Any] = [
    {"id": "sha256:used", "tags": ["web:1"], "containers": 2, "used_by": ["a", "b"]},
    {"id": "sha256:spare", "tags": [], "containers": 0, "in_use": True},  # in_use is computed
    {"id": "sha256:old-agent", "tags": ["x:1"]},  # no containers key: not known
    {"id": 5},
    {"tags": ["no-id"]},
    {"id": "sha256:neg", "containers": -3},
    "not an object",
]
VOLUMES: list[Any] = [
    {"name": "data", "containers": 1, "used_by": ["db"], "size": 1024, "size_status": "measured"},
    {"name": "spare", "containers": 0, "size_status": "timed_out"},
    {"name": "bad", "size_status": "guessed"},
    {"name": "worse", "size": -1},
]


class ListingAgent:
    """An inventory stream that holds, and the image and volume listings above."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.volume_queries: list[dict[str, str]] = []

    async def inventory(self, request: web.Request) -> web.StreamResponse:
        """A snapshot without containers, then heartbeats until released: the node is up."""
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        now = datetime.now(UTC).isoformat()
        snapshot = {"type": "snapshot", "rev": 1, "info": INFO, "containers": [], "time": now}
        await response.write(json.dumps(snapshot).encode() + b"\n")
        while not self.released.is_set():
            await response.write(b'{"type": "heartbeat", "rev": 2}\n')
            await asyncio.sleep(0.5)
        return response

    async def images(self, _request: web.Request) -> web.Response:
        """``GET /v1/images``: good and bad items."""
        return web.json_response(IMAGES)

    async def volumes(self, request: web.Request) -> web.Response:
        """``GET /v1/volumes``: good and bad items; the query is kept for the test."""
        self.volume_queries.append(dict(request.query))
        return web.json_response(VOLUMES)

    def app(self) -> web.Application:
        """The routes the server calls."""
        app = web.Application()
        app.router.add_get("/v1/inventory/stream", self.inventory)
        app.router.add_get("/v1/images", self.images)
        app.router.add_get("/v1/volumes", self.volumes)
        return app


@pytest.fixture
async def listing(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> AsyncIterator[tuple[ListingAgent, EnrolledAgent]]:
    agent = ListingAgent()
    async with enrolled_agent(app, client, admin_token, agent.app(), "node1") as enrolled:
        await wait_for(lambda: is_up(enrolled.link))
        try:
            yield agent, enrolled
        finally:
            agent.released.set()


async def test_bad_image_items_are_skipped_and_good_ones_filtered(
    listing: tuple[ListingAgent, EnrolledAgent], client: httpx.AsyncClient, admin_token: str
) -> None:
    _, enrolled = listing
    headers = bearer(admin_token)
    page = (await client.get("/api/v1/images", headers=headers)).json()
    assert page["unreachable"] == []
    by_id = {i["id"]: i for i in page["items"]}
    assert set(by_id) == {"sha256:used", "sha256:spare", "sha256:old-agent"}
    assert enrolled.link.rejects.counts == {"ImageInfo list": 4}
    used, spare, old = by_id["sha256:used"], by_id["sha256:spare"], by_id["sha256:old-agent"]
    assert (used["in_use"], used["used_by"], used["dangling"]) == (True, ["a", "b"], False)
    assert (spare["in_use"], spare["dangling"]) == (False, True)
    assert (old["in_use"], old["containers"]) == (None, None)
    assert used["environment"] == enrolled.environment and used["node"] == enrolled.node

    unused = await client.get("/api/v1/images", params={"unused": "true"}, headers=headers)
    assert [i["id"] for i in unused.json()["items"]] == ["sha256:spare"]
    dangling = await client.get("/api/v1/images", params={"dangling": "true"}, headers=headers)
    assert [i["id"] for i in dangling.json()["items"]] == ["sha256:spare"]
    bad = await client.get("/api/v1/images", params={"unused": "maybe"}, headers=headers)
    assert bad.status_code == 422


async def test_volume_sizes_are_asked_for_only_with_size(
    listing: tuple[ListingAgent, EnrolledAgent], client: httpx.AsyncClient, admin_token: str
) -> None:
    agent, enrolled = listing
    headers = bearer(admin_token)
    plain = (await client.get("/api/v1/volumes", headers=headers)).json()
    assert [v["name"] for v in plain["items"]] == ["data", "spare"]
    assert enrolled.link.rejects.counts == {"VolumeInfo list": 2}
    assert agent.volume_queries[-1] == {}
    sized = await client.get("/api/v1/volumes", params={"size": "true"}, headers=headers)
    assert agent.volume_queries[-1] == {"size": "true"}
    data = sized.json()["items"][0]
    assert (data["size"], data["size_status"], data["in_use"]) == (1024, "measured", True)
    unused = await client.get("/api/v1/volumes", params={"unused": "true"}, headers=headers)
    assert [(v["name"], v["size_status"]) for v in unused.json()["items"]] == [
        ("spare", "timed_out")
    ]
