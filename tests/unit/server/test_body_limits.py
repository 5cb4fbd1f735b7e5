"""Request bodies are capped at the root, before any route reads or authenticates them.

Every request may send 1 MiB; the stack routes take up to 96 MiB, and only from a caller
with a valid session or API token. Stack YAML is parsed in a worker thread: while one
request's files are being parsed (and refused), other requests answer.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import TYPE_CHECKING, Any

from fleetdeck.server.body_limits import DEFAULT_BODY_LIMIT, STACK_BODY_LIMIT
from fleetdeck.server.stacks.service import StackService
from tests.unit.test_safeyaml import alias_bomb

from .conftest import bearer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, MutableMapping

    import httpx
    import pytest
    from fastapi import FastAPI

MIB = 1024 * 1024
COMPOSE = "services:\n  app:\n    image: 127.0.0.1:5000/app:1\n"


def _stack_body(extra_bytes: int) -> dict[str, Any]:
    files = [{"name": "compose.yaml", "content": COMPOSE}]
    if extra_bytes:
        files.append({"name": "data/blob.txt", "content": "x" * extra_bytes})
    return {"files": files}


def _too_large(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 413, response.text
    assert response.headers["connection"] == "close"
    body: dict[str, Any] = response.json()
    assert body["error"] == "too_large"
    return body


async def test_an_unauthenticated_oversized_post_is_413_not_401(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/auth/login", content=b"{" + b" " * (2 * MIB) + b"}")
    body = _too_large(response)
    assert f"over the {DEFAULT_BODY_LIMIT} bytes" in body["message"]
    assert body["hint"] is None  # login takes no more from anyone


async def test_a_stack_route_takes_big_bodies_only_from_a_logged_in_caller(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    body = _stack_body(2 * MIB)
    for headers in ({}, bearer("fdt_not-a-token")):
        refused = _too_large(
            await client.post("/api/v1/stacks/validate", json=body, headers=headers)
        )
        assert f"up to {STACK_BODY_LIMIT} bytes from a logged-in caller" in refused["hint"]
    answered = await client.post("/api/v1/stacks/validate", json=body, headers=bearer(admin_token))
    assert answered.status_code == 200, answered.text
    assert answered.json()["ok"] is True


async def test_the_big_limit_is_only_on_the_routes_that_declare_it(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    big = {"username": "u" * (2 * MIB), "password": "p", "role": "viewer"}
    _too_large(await client.post("/api/v1/users", json=big, headers=bearer(admin_token)))


async def test_a_chunked_body_without_a_length_is_cut_at_the_limit(
    client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 4 MiB offered in 64 KiB chunks
            sent += 1
            yield b" " * (64 * 1024)

    response = await client.post("/api/v1/auth/login", content=chunks())
    body = _too_large(response)
    assert "over the" in body["message"]
    assert sent <= 17  # read up to just past 1 MiB, then cut off


async def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(
    app: FastAPI,
) -> None:
    async def receive() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PUT",
        "scheme": "https", "path": "/api/v1/stacks/shop", "raw_path": b"/api/v1/stacks/shop",
        "root_path": "", "query_string": b"", "client": ("127.0.0.1", 5), "server": None,
        "headers": [(b"host", b"testserver"), (b"content-length", str(200 * MIB).encode()),
                    (b"content-type", b"application/json")],
    }  # fmt: skip
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"] == "too_large"


async def test_while_stack_yaml_is_parsed_other_requests_answer(
    client: httpx.AsyncClient, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader runs in a worker thread: held there, the event loop still serves /health."""
    parsing = threading.Event()
    release = threading.Event()
    real_load = StackService.load

    def held_load(self: StackService, *args: Any, **kwargs: Any) -> Any:
        parsing.set()
        assert release.wait(60), "the test never released the parse"
        return real_load(self, *args, **kwargs)

    monkeypatch.setattr(StackService, "load", held_load)
    bomb = [{"name": "compose.yaml", "content": alias_bomb(9)}]
    big = [{"name": "compose.yaml", "content": COMPOSE + "# " + "x" * (2 * MIB) + "\n"}]
    for proposed, expected in ((bomb, "limit max_alias_nodes"), (big, "over the limit of")):
        parsing.clear()
        release.clear()
        refused = asyncio.create_task(
            client.post(
                "/api/v1/stacks/validate", json={"files": proposed}, headers=bearer(admin_token)
            )
        )
        await asyncio.to_thread(parsing.wait, 60)
        health = await client.get("/api/v1/health")  # answered while the parse is held
        assert health.status_code == 200 and not refused.done()
        release.set()
        result = (await refused).json()
        assert result["ok"] is False
        (error,) = result["errors"]
        assert expected in error["message"] and error["file"] == "compose.yaml"
