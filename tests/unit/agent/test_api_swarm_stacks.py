"""The agent's Swarm stack routes: only stack objects are touched, secret data never echoed."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from fleetdeck.agent import api_swarm_stacks
from fleetdeck.agent.api_support import ENGINE, error_middleware

if TYPE_CHECKING:
    from fleetdeck.agent.engine import Engine

NS = {"com.docker.stack.namespace": "shop"}


class FakeEngine:
    """Answers the few engine requests the routes make; records what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.headers: list[dict[str, str] | None] = []

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        """One engine request: record it, answer as a manager would."""
        self.sent.append((method, path, kw.get("body")))
        self.headers.append(kw.get("headers"))
        if path.startswith("distribution/"):
            return {"Descriptor": {"digest": "sha256:" + "a" * 64}}
        if path == "services/s1" and method == "GET":  # a stack's service
            return {"ID": "s1", "Spec": {"Name": "shop_web", "Labels": NS}}
        if path.startswith("services/") and method == "GET":  # an operator's own
            return {"ID": "s2", "Spec": {"Name": "x", "Labels": {}}}
        if path == "configs":
            return [{"ID": "c1", "Spec": {"Name": "shop_site_1", "Labels": NS, "Data": "aGk="}}]
        if method == "GET":
            return []
        return {"ID": "new", "Id": "new"}


async def _client(engine: FakeEngine) -> TestClient[web.Request, web.Application]:
    app = web.Application(middlewares=[error_middleware])
    app[ENGINE] = cast("Engine", engine)  # a fake at the engine boundary
    api_swarm_stacks.add_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_objects_without_the_stack_label_are_refused() -> None:
    engine = FakeEngine()
    client = await _client(engine)
    try:
        spec = {"Name": "x", "Labels": {}}
        response = await client.post("/v1/swarm/stacks/services", json={"spec": spec})
        assert response.status == 422
        assert "com.docker.stack.namespace" in (await response.json())["message"]
        # an operator's own service (no stack label) cannot be updated or removed either
        body = {"spec": {"Name": "x", "Labels": NS}, "version": 1}
        assert (await client.post("/v1/swarm/stacks/services/x/update", json=body)).status == 422
        assert (await client.delete("/v1/swarm/stacks/services/x")).status == 422
        assert not [s for s in engine.sent if s[0] != "GET"]
    finally:
        await client.close()


async def test_secrets_are_created_and_their_data_never_answered() -> None:
    engine = FakeEngine()
    client = await _client(engine)
    try:
        data = base64.b64encode(b"s3cr3t").decode()
        body = {"name": "shop_key_1", "labels": NS, "data": data}
        response = await client.post("/v1/swarm/stacks/secrets", json=body)
        assert response.status == 201 and "s3cr3t" not in await response.text()
        assert engine.sent[-1] == (
            "POST",
            "secrets/create",
            {"Name": "shop_key_1", "Labels": NS, "Data": data},
        )
        bad = {**body, "data": "not base64!"}
        assert (await client.post("/v1/swarm/stacks/secrets", json=bad)).status == 422
        assert (await client.post("/v1/swarm/stacks/volumes", json=body)).status == 422
        snapshot = await (await client.get("/v1/swarm/stacks/shop")).json()
        assert snapshot["configs"] == [{"ID": "c1", "Spec": {"Name": "shop_site_1", "Labels": NS}}]
    finally:
        await client.close()


async def test_registry_credentials_go_to_the_engine_with_the_lookup_and_the_spec() -> None:
    """``--with-registry-auth``: the engine gets them as X-Registry-Auth; nodes can pull."""
    engine = FakeEngine()
    client = await _client(engine)
    auth = {"username": "ci", "password": "pw", "serveraddress": "reg.lan:5000"}
    try:
        body = {"image": "reg.lan:5000/app:1", "auth": auth}
        answer = await (await client.post("/v1/swarm/stacks/images/digest", json=body)).json()
        assert answer["digest"] == "sha256:" + "a" * 64
        spec = {"Name": "shop_web", "Labels": NS}
        created = await client.post("/v1/swarm/stacks/services", json={"spec": spec, "auth": auth})
        assert created.status == 201
        update = {"spec": spec, "version": 3, "auth": auth}
        assert (await client.post("/v1/swarm/stacks/services/s1/update", json=update)).ok
        sent = [
            json.loads(base64.urlsafe_b64decode(h["X-Registry-Auth"])) for h in engine.headers if h
        ]
        assert sent == [auth, auth, auth]  # lookup, create, update
        # without credentials no header at all (a public registry)
        engine.headers.clear()
        await client.post("/v1/swarm/stacks/services", json={"spec": spec})
        await client.get("/v1/swarm/stacks/images/digest", params={"image": "app:1"})
        assert engine.headers == [None, None]
    finally:
        await client.close()
