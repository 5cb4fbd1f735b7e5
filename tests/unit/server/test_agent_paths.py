"""Issue #11, finding 9: a user value in an agent path is one segment, never a traversal.

``DELETE /api/v1/images?image=..%2Fcontainers%2FID`` reached the agent as
``DELETE /v1/containers/ID`` (the HTTP client resolved the dot segments) and removed a
container. Now the server encodes every segment and the agent refuses what still looks like
a path; both sides are tested, and the exact payload goes through the real API to a
stand-in agent (enrolled with the server's CA) running the agent's real path check.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from fleetdeck.agent.api_support import check_path_segments, error_middleware, path_middleware
from fleetdeck.errors import InvalidPathError
from fleetdeck.server.fleet.agent_client import agent_path

from .conftest import bearer
from .enrolled_agent import enrolled_agent, is_up, wait_for

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

CID = "c0ffee" * 10 + "abcd"


@pytest.mark.parametrize(
    ("segments", "path"),
    [
        (("images", "../containers/" + CID), "/v1/images/..%2Fcontainers%2F" + CID),
        (("images", "10.0.0.1:5000/team/web:1"), "/v1/images/10.0.0.1%3A5000%2Fteam%2Fweb%3A1"),
        (("containers", "a b?c#d", "logs"), "/v1/containers/a%20b%3Fc%23d/logs"),
        (("networks", "net%2F1"), "/v1/networks/net%252F1"),
        (("swarm", "services", 7), "/v1/swarm/services/7"),
    ],
)
def test_every_segment_is_percent_encoded(segments: tuple[str, ...], path: str) -> None:
    assert agent_path(*segments) == path


@pytest.mark.parametrize("segment", ["", ".", ".."])
def test_segments_no_encoding_can_carry_are_refused(segment: str) -> None:
    with pytest.raises(InvalidPathError):
        agent_path("images", segment)


@pytest.mark.parametrize(
    ("canonical", "raw", "info"),
    [
        ("/v1/containers/{id}", "/v1/containers/a%2Fb", {"id": "a/b"}),
        ("/v1/containers/{id}", "/v1/containers/%2E%2E", {"id": ".."}),
        ("/v1/containers/{id}", "/v1/containers/.", {"id": "."}),
        ("/v1/containers/{id}/{action}", "/v1/containers/x/..", {"id": "x", "action": ".."}),
        ("/v1/images/{ref}", "/v1/images/..%2Fcontainers%2Fx", {"ref": "../containers/x"}),
        ("/v1/images/{ref}", "/v1/images/a%2F%2Fb", {"ref": "a//b"}),
        ("/v1/images/{ref}", "/v1/images/a%2F.%2Fb", {"ref": "a/./b"}),
    ],
)
def test_the_agent_refuses_traversal_segments(
    canonical: str, raw: str, info: dict[str, str]
) -> None:
    with pytest.raises(InvalidPathError):
        check_path_segments(canonical, raw, info)


def test_the_agent_accepts_an_image_reference_with_slashes() -> None:
    ref = "10.0.0.1:5000/team/web:1"
    check_path_segments("/v1/images/{ref}", "/v1/images/" + agent_path(ref)[4:], {"ref": ref})


class Agent:
    """The agent's real middlewares before routes that record what they were asked to do."""

    def __init__(self) -> None:
        self.removed: list[tuple[str, str]] = []

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """A quiet, healthy inventory stream."""
        response = web.StreamResponse()
        await response.prepare(request)
        snapshot = b'{"type": "snapshot", "rev": 1, "info": {"hostname": "h"}, "containers": []}'
        await response.write(snapshot + b"\n")
        with contextlib.suppress(ConnectionError):  # the server let go
            while True:
                await response.write(b'{"type": "heartbeat", "rev": 1}\n')
                await asyncio.sleep(0.5)
        return response

    async def remove_image(self, request: web.Request) -> web.Response:
        """What ``DELETE /v1/images/{ref}`` would remove."""
        self.removed.append(("image", request.match_info["ref"]))
        return web.json_response({"deleted": [request.match_info["ref"]]})

    async def remove_container(self, request: web.Request) -> web.Response:
        """What ``DELETE /v1/containers/{id}`` would remove."""
        self.removed.append(("container", request.match_info["id"]))
        return web.json_response({"ok": True, "container": None})

    def app(self) -> web.Application:
        """As ``fleetdeck.agent.api.create_app`` orders the middlewares (no client check)."""
        app = web.Application(middlewares=[error_middleware, path_middleware])
        app.router.add_get("/v1/inventory/stream", self.stream)
        app.router.add_delete("/v1/images/{ref:.+}", self.remove_image)
        app.router.add_delete("/v1/containers/{id}", self.remove_container)
        return app


async def test_the_reported_payload_ends_in_a_clear_4xx_and_removes_nothing(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    agent = Agent()
    async with enrolled_agent(app, client, admin_token, agent.app(), "node1") as enrolled:
        await wait_for(lambda: is_up(enrolled.link))
        headers = bearer(admin_token)
        url = "/api/v1/images?environment=node1&image=..%2Fcontainers%2F" + CID
        response = await client.delete(url, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_path"
        for image in ("..", "."):
            response = await client.delete(
                "/api/v1/images", params={"environment": "node1", "image": image}, headers=headers
            )
            assert response.status_code == 400, response.text
        assert agent.removed == []

        ref = "10.0.0.1:5000/team/web:1"  # an honest reference, slashes and all
        response = await client.delete(
            "/api/v1/images", params={"environment": "node1", "image": ref}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert agent.removed == [("image", ref)]

    audit = await client.get("/api/v1/audit", params={"action": "image.remove"}, headers=headers)
    results = [e["result"] for e in audit.json()["items"]]
    assert results.count("ok") == 1
    # The traversal reached the agent and was refused there: audited as failed. "." and
    # ".." are refused by the server before any call, like any other invalid input.
    assert [r for r in results if r != "ok"] == [
        f"error: ref '../containers/{CID}' has an empty, '.' or '..' part"
    ]
