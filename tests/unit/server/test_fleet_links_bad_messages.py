"""A fake agent holding a real node certificate sends bad lines: the link survives them.

Issue #11, finding 8: a ``[]`` line killed a node's link for good, and a 300 MB line grew the
server by 500 MB. Here a stand-in agent enrolled through the server's real API (so it holds
a certificate from the server's own CA) sends malformed, wrong-typed, unknown and over-long
lines on every stream the server reads; each is refused, counted and skipped, later good
lines still apply, and the node stays up on the same stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tracemalloc
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from fleetdeck.server.context import context_of
from fleetdeck.server.fleet import agent_streams, links
from fleetdeck.server.fleet.agent_streams import (
    LOG_LINE,
    LOG_STREAM_MESSAGE,
    PULL_PROGRESS,
    capped_lines,
)
from fleetdeck.wire.streams import LogLinesMessage, LogSourceMessage, LogStatusMessage

from .enrolled_agent import enrolled_agent, is_up, wait_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import FastAPI

#: The line cap for these tests (the real one is 32 MiB): an over-long line is 4 times it.
CAP = 1 << 20
NOW = datetime.now(UTC).isoformat()
INFO = {"hostname": "fake-host", "engine_state": "up"}


def container(cid: str, name: str) -> dict[str, Any]:
    """A valid EngineContainer."""
    return {"id": cid, "name": name, "image": "img", "state": "running", "created": NOW}


#: Lines that are not JSON objects at all, or not JSON.
MALFORMED = ["[]", '"x"', "null", "42", "not json", '{"type": "snapshot", "rev": 1, "info": {"ho']
#: Right ``type``, fields of the wrong type; and unknown types.
WRONG_INVENTORY = [
    {"type": "upsert", "rev": 2, "container": {"id": 5}},
    {"type": "upsert", "rev": 2, "container": [1, 2]},
    {"type": "snapshot", "rev": 2, "info": INFO, "containers": {"a": 1}},
    {"type": "snapshot", "rev": 2, "info": "x"},
    {"type": "delete", "rev": 3, "id": ["a"]},
    {"type": "info", "rev": 3, "info": {"hostname": None}},
    {"type": "heartbeat", "rev": "soon"},
    {"type": "metrics", "rev": 1, "time": "yesterday"},
    {"type": "metrics", "rev": 1, "time": NOW, "host": {"cpu_percent": "lots"}},
    {"type": "metrics", "rev": 1, "time": NOW, "containers": {"c": {"name": ["x"]}}},
    {"type": "metrics", "rev": 1, "time": NOW, "host": {"filesystems": {"/": 3}}},
    {"type": "bogus", "rev": 1},
    {"rev": 1},
]
WRONG_LOGS = [
    {"type": "lines", "lines": [["c1", "stdout", "noon", "text"]]},
    {"type": "lines", "lines": "all of them"},
    {"type": "source", "id": None},
    {"type": "status", "dropped": {"c1": "many"}},
    {"type": "status", "buffered": [1]},
    {"type": "bogus"},
]
WRONG_LOG_LINES = [{"stream": 1, "line": "x"}, {"stream": "stdout", "time": "noon", "line": "x"}]
WRONG_PULL = [{"status": ["x"]}, {"error": {"code": 1}}]


def ndjson(*messages: Any) -> bytes:
    """Lines of JSON (strings are sent as they are: the malformed ones)."""
    return b"".join((m if isinstance(m, str) else json.dumps(m)).encode() + b"\n" for m in messages)


class FakeAgent:
    """Serves scripted NDJSON on the routes the server reads, then keeps its streams open."""

    def __init__(self) -> None:
        self.inventory_streams = 0
        self.logs_streams = 0
        self.collector_refused = asyncio.Event()
        self.released = asyncio.Event()
        self.inventory_script: list[bytes] = []

    async def _serve(
        self, request: web.Request, chunks: list[bytes], *, hold: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for chunk in chunks:
            await response.write(chunk)
        while hold and not self.released.is_set():
            await response.write(ndjson({"type": "heartbeat", "rev": 9}))
            await asyncio.sleep(0.5)
        return response

    async def inventory(self, request: web.Request) -> web.StreamResponse:
        """The inventory stream: the script on the first connection, a snapshot after."""
        self.inventory_streams += 1
        first = self.inventory_streams == 1
        script = self.inventory_script if first else [snapshot(container("c9", "later"))]
        return await self._serve(request, script, hold=True)

    async def logs_stream(self, request: web.Request) -> web.StreamResponse:
        """The log shipper's stream: bad messages between good ones.

        Only for the test's own reads: the first request, the server's background log
        collector's, gets 404 as from an agent without a log stream, so that the collector
        leaves the node alone for a minute.
        """
        if not self.collector_refused.is_set():
            self.collector_refused.set()
            return web.json_response({"error": "not_found", "message": "no"}, status=404)
        self.logs_streams += 1
        good_lines = {"type": "lines", "lines": [["c1", "stdout", 1, "hello"]]}
        chunks = [
            ndjson({"type": "source", "id": "c1", "name": "web"}, *MALFORMED, *WRONG_LOGS),
            huge_line(),
            ndjson(good_lines, {"type": "status", "dropped": {"c1": 2}, "buffered": 0}),
        ]
        return await self._serve(request, chunks, hold=False)

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        """A container's output."""
        good = {"stream": "stdout", "time": None, "line": "ok"}
        chunks = [ndjson(*MALFORMED, *WRONG_LOG_LINES), huge_line(), ndjson(good)]
        return await self._serve(request, chunks, hold=False)

    async def pull(self, request: web.Request) -> web.StreamResponse:
        """An image pull's progress."""
        done = {"status": "done", "image": "img"}
        chunks = [ndjson(*MALFORMED, *WRONG_PULL), huge_line(), ndjson(done)]
        return await self._serve(request, chunks, hold=False)

    def app(self) -> web.Application:
        """The routes the server reads from."""
        app = web.Application()
        app.router.add_get("/v1/inventory/stream", self.inventory)
        app.router.add_post("/v1/logs/stream", self.logs_stream)
        app.router.add_get("/v1/containers/{id}/logs", self.container_logs)
        app.router.add_post("/v1/images/pull", self.pull)
        return app


def snapshot(*containers: dict[str, Any]) -> bytes:
    """A valid snapshot line."""
    return ndjson({"type": "snapshot", "rev": 1, "info": INFO, "containers": list(containers)})


def huge_line() -> bytes:
    """A line four times the cap, then its newline."""
    return b'{"type": "heartbeat", "rev": 1, "pad": "' + b"x" * (4 * CAP) + b'"}\n'


@pytest.fixture
async def fake(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[FakeAgent, links.AgentLink]]:
    monkeypatch.setattr(links, "MAX_LINE_BYTES", CAP)
    agent = FakeAgent()
    good_upsert = {"type": "upsert", "rev": 5, "container": container("c2", "after")}
    agent.inventory_script = [
        snapshot(container("c1", "before")),
        ndjson(*MALFORMED, *WRONG_INVENTORY),
        huge_line(),
        ndjson(good_upsert, {"type": "metrics", "rev": 5, "time": NOW, "host": {"load1": 0.5}}),
    ]
    async with enrolled_agent(app, client, admin_token, agent.app(), "node1") as enrolled:
        try:
            yield agent, enrolled.link
        finally:
            agent.released.set()


def _names(link: links.AgentLink) -> set[str]:
    state = link.inventory.find_node(link.environment, link.node)
    return {c.name for c in state.containers.values()} if state else set()


async def test_bad_inventory_lines_are_counted_and_skipped_and_good_ones_apply(
    fake: tuple[FakeAgent, links.AgentLink], caplog: pytest.LogCaptureFixture
) -> None:
    agent, link = fake
    await wait_for(lambda: "after" in _names(link))
    assert _names(link) == {"before", "after"}
    assert is_up(link)
    assert link.metrics_since == NOW  # the good metrics line after the bad ones applied
    bad = len(MALFORMED) + len(WRONG_INVENTORY) + 1  # and the over-long line
    assert link.rejects.counts == {"inventory": bad}
    assert agent.inventory_streams == 1  # skipped on the same stream: no reconnect needed
    assert link.restarts == 0
    refused = [r for r in caplog.records if "refused and skipped" in r.getMessage()]
    assert len(refused) == 1  # rate-limited: one record for the whole burst


async def test_every_other_stream_skips_bad_lines_and_keeps_good_ones(
    fake: tuple[FakeAgent, links.AgentLink],
) -> None:
    agent, link = fake
    await asyncio.wait_for(agent.collector_refused.wait(), 20)
    messages = [
        m
        async for m in link.stream_messages(
            "POST", "/v1/logs/stream", LOG_STREAM_MESSAGE, name="logs", json_body={}
        )
    ]
    assert [type(m) for m in messages] == [LogSourceMessage, LogLinesMessage, LogStatusMessage]
    assert link.rejects.counts["logs"] == len(MALFORMED) + len(WRONG_LOGS) + 1

    lines = [
        json.loads(line)
        async for line in link.stream_lines(
            "GET", "/v1/containers/c1/logs", name="container logs", check=LOG_LINE
        )
    ]
    assert lines == [{"stream": "stdout", "time": None, "line": "ok"}]
    assert link.rejects.counts["container logs"] == len(MALFORMED) + len(WRONG_LOG_LINES) + 1

    progress = [
        p.status
        async for p in link.stream_messages(
            "POST", "/v1/images/pull", PULL_PROGRESS, name="pull", json_body={}
        )
    ]
    assert progress == ["done"]
    assert link.rejects.counts["pull"] == len(MALFORMED) + len(WRONG_PULL) + 1
    await wait_for(lambda: is_up(link))


async def test_the_log_collector_applies_good_messages_around_bad_ones(
    fake: tuple[FakeAgent, links.AgentLink], app: FastAPI
) -> None:
    agent, link = fake
    await asyncio.wait_for(agent.collector_refused.wait(), 20)
    collector = context_of(app).logs
    await collector._consume(link, {})  # noqa: SLF001 - the reader of one stream
    assert collector.nodes[link.where] == {
        "received": 1,
        "dropped": 2,
        "buffered": 0,
        "last_status": collector.nodes[link.where]["last_status"],
    }
    assert link.rejects.counts["logs"] == len(MALFORMED) + len(WRONG_LOGS) + 1


async def test_a_link_task_that_dies_is_logged_and_restarted(
    fake: tuple[FakeAgent, links.AgentLink],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, link = fake
    await wait_for(lambda: "after" in _names(link))
    apply = link.inventory.apply
    failures: list[tuple[Any, ...]] = []

    def failing_once(*args: Any) -> None:
        if not failures:
            failures.append(args)
            raise RuntimeError("injected failure")
        apply(*args)

    monkeypatch.setattr(link.inventory, "apply", failing_once)
    await wait_for(lambda: link.restarts == 1)
    await wait_for(lambda: "later" in _names(link) and is_up(link))  # a new stream's snapshot
    assert any("failed unexpectedly" in r.getMessage() and r.exc_info for r in caplog.records)
    assert link._task is not None and not link._task.done()  # noqa: SLF001


async def test_an_over_long_line_is_dropped_as_it_is_read() -> None:
    """A 256 MiB line through a 1 MiB cap: memory stays near the cap, never near the line."""
    piece = b"x" * (1 << 20)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a": 1}\n{"pad": "'
        for _ in range(256):
            yield piece  # the same object: the test itself holds 1 MiB, not 256
        yield b'"}\n{"b": 2}'

    tracemalloc.start()
    try:
        got = [line async for line in capped_lines(chunks(), CAP)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == ['{"a": 1}', None, '{"b": 2}']
    assert peak < 4 * CAP


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([b"a\nb", b"c\n", b"\n"], ["a", "bc", ""]),
        ([b"ab\r\n"], ["ab"]),
        ([b"x" * 9 + b"\nok\n"], [None, "ok"]),
        ([b"x" * 5, b"x" * 5, b"\nok"], [None, "ok"]),
        ([b"x" * 8 + b"\n"], ["x" * 8]),
        ([b"x" * 20], [None]),
    ],
)
async def test_capped_lines_splits_and_caps(data: list[bytes], expected: list[str | None]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in data:
            yield chunk

    assert [line async for line in capped_lines(chunks(), 8)] == expected


def test_refusals_are_logged_at_most_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    rejects = agent_streams.StreamRejects("env/node")
    with caplog.at_level(logging.WARNING):
        for _ in range(50):
            rejects.reject("inventory", "bad\nshape " + "y" * 1000)
    assert rejects.total == 50
    (record,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(record.getMessage()) < agent_streams.REASON_CHARS + 200
