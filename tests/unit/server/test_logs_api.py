"""``/api/v1/logs`` on an in-process server, and the collector's handling of agent messages."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.agent.logship import Cursor
from fleetdeck.server.context import context_of
from fleetdeck.server.logs.query import LogQuery
from fleetdeck.server.logs.store import Batch

from .conftest import bearer

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.logs.collector import LogCollector

NOW = time.time_ns()
KEY = ("prod", "node1", "c0ffee")


def collector(app: FastAPI) -> LogCollector:
    logs: LogCollector = context_of(app).logs
    return logs


async def test_search_serves_stored_lines_with_their_origin(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    lines = [(KEY, NOW + i, "stdout", f"GET /item/{i} took {i}ms") for i in range(5)]
    meta = {KEY: {"name": "web-1", "stack": "shop", "service": "web"}}
    await collector(app).on_writer(collector(app).store.write, Batch(meta, lines, {}, {}))
    answer = await client.get(
        "/api/v1/logs/search",
        params={"q": 'item "took', "stack": "shop", "limit": 2},
        headers=bearer(admin_token),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["next_offset"] == 2
    first = body["items"][0]
    assert first["line"] == "GET /item/4 took 4ms"
    assert (first["environment"], first["node"], first["container"]) == ("prod", "node1", "web-1")
    assert first["stream"] == "stdout" and first["time"].endswith("+00:00")
    stats = (await client.get("/api/v1/logs/stats", headers=bearer(admin_token))).json()
    assert stats["lines"] == 5 and stats["retention_days"] == 7


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "1h", "until": "2h"}, "inverted"),
        ({"limit": "0"}, "limit: Input should be greater than or equal to 1"),
        ({"limit": "5000"}, "limit: Input should be less than or equal to 1000"),
        ({"offset": "99999999999999999999"}, "offset: Input should be less than or equal to"),
        ({"stream": "stdin"}, "stream must be"),
        ({"since": "last tuesday"}, "since must be"),
        ({"q": "a AND (", "raw": "true"}, "bad search expression"),
        ({"q": '"'}, "nothing to search for"),
    ],
)
async def test_bad_searches_are_clear_422s(
    client: httpx.AsyncClient, admin_token: str, params: dict[str, str], message: str
) -> None:
    answer = await client.get("/api/v1/logs/search", params=params, headers=bearer(admin_token))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_input"
    assert message in answer.json()["message"]


async def test_logs_need_a_login(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/logs/search")).status_code == 401


async def test_the_collector_advances_cursors_and_feeds_tails(app: FastAPI) -> None:
    logs = collector(app)
    tail = logs.hub.follow(LogQuery(stack="shop"))
    cursors: dict[str, Cursor] = {"c0ffee": Cursor(NOW, 1)}
    meta: dict[str, dict[str, Any]] = {}
    source = {"type": "source", "id": "c0ffee", "name": "web-1", "stack": "shop", "service": "w"}
    await logs.handle("prod", "node1", cursors, meta, source)
    old = NOW - 30 * 86_400 * 10**9  # older than the retention: not stored, cursor still moves
    message = {
        "type": "lines",
        "lines": [["c0ffee", "stdout", NOW + 1, "a"], ["c0ffee", "stderr", NOW + 1, "b"]],
    }
    await logs.handle("prod", "node1", cursors, meta, message)
    assert (cursors["c0ffee"].ns, cursors["c0ffee"].seen) == (NOW + 1, 2)
    await logs.handle(
        "prod", "node1", cursors, meta, {"type": "lines", "lines": [["x", "stdout", old, "z"]]}
    )
    status = {"type": "status", "dropped": {"c0ffee": 7}, "buffered": 3}
    await logs.handle("prod", "node1", cursors, meta, status)
    assert [tail.queue.get_nowait()["line"] for _ in range(2)] == ["a", "b"]
    assert tail.queue.empty()  # "z" belongs to no known stack
    for _ in range(100):
        if logs.queue.empty() and logs.written >= 2:
            break
        await asyncio.sleep(0.05)
    stats = await asyncio.to_thread(logs.store.stats)
    assert stats["lines"] == 2 and stats["dropped"] == 7
    stored = await logs.on_writer(logs.store.cursors, "prod", "node1")
    assert stored["c0ffee"] == (NOW + 1, 2) and "x" in stored
    assert logs.nodes["prod/node1"]["dropped"] == 7
    logs.hub.unfollow(tail)


async def test_a_tail_with_a_bad_backlog_is_refused(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    answer = await client.get(
        "/api/v1/logs/tail", params={"backlog": "-1"}, headers=bearer(admin_token)
    )
    assert answer.status_code == 422 and "backlog" in answer.json()["message"]
