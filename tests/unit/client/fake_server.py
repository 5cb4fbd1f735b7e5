"""A fake fleetdeck server for unit tests: routes answered by an ``httpx.MockTransport``.

It is installed through the client's documented test hook
(``fleetdeck.client.base.transport_factory``), so the client's real request, streaming and
error-mapping code runs; only the network and the server are replaced.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from fleetdeck.client import base
from fleetdeck.wire.containers import Container

if TYPE_CHECKING:
    from pydantic import BaseModel

Handler = Callable[[httpx.Request], httpx.Response]


def error_body(status: int, kind: str, message: str, hint: str | None = None) -> httpx.Response:
    """A reply shaped like the server's error handler's."""
    return httpx.Response(status, json={"error": kind, "message": message, "hint": hint})


def ndjson(items: list[dict[str, Any]]) -> bytes:
    """Items as an NDJSON body."""
    return b"".join(json.dumps(i).encode() + b"\n" for i in items)


def served(model: type[BaseModel], data: Any) -> dict[str, Any]:
    """``data`` as the server serves it: checked against its wire model and dumped as JSON.

    Fixtures go through the model, so a wire change shows in them instead of leaving them stale.
    """
    dumped: dict[str, Any] = model.model_validate(data).model_dump(mode="json", by_alias=True)
    return dumped


def container(name: str = "web", env: str = "prod", **extra: Any) -> dict[str, Any]:
    """A Container as the server serves it (built from the wire model, so it keeps its shape)."""
    return Container(
        **{
            "id": "0123456789abcdef0123456789abcdef",
            "name": name,
            "image": "registry.lan:5000/web:1",
            "image_id": "sha256:feed",
            "state": "running",
            "status": "Up 5 minutes (healthy)",
            "health": "healthy",
            "created": "2026-01-02T03:04:05Z",
            "environment": env,
            "node": f"{env}-1",
            **extra,
        }
    ).model_dump(mode="json")


@dataclass
class FakeServer:
    """Routes keyed by ``(METHOD, path under /api/v1)``; every request is recorded."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, reply: Handler | dict[str, Any] | list[Any]) -> None:
        """Answer ``method path`` with a handler, or with this JSON (200)."""
        if callable(reply):
            self.routes[(method, path)] = reply
        else:
            data = reply
            self.routes[(method, path)] = lambda _req: httpx.Response(200, json=data)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler."""
        self.requests.append(request)
        path = request.url.raw_path.decode().split("?")[0].removeprefix("/api/v1")
        handler = self.routes.get((request.method, path))
        if handler is None:
            return error_body(404, "not_found", f"no route {request.method} {path}")
        return handler(request)

    def last(self, method: str, path: str) -> httpx.Request:
        """The last request to ``method path`` (raw, still-quoted path)."""
        for request in reversed(self.requests):
            raw = request.url.raw_path.decode().split("?")[0].removeprefix("/api/v1")
            if request.method == method and raw == path:
                return request
        raise AssertionError(f"no {method} {path} among {[str(r.url) for r in self.requests]}")


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """A FakeServer every FleetdeckClient made during the test talks to."""
    server = FakeServer()
    monkeypatch.setattr(base, "transport_factory", lambda _cfg: httpx.MockTransport(server.handle))
    yield server


@pytest.fixture(autouse=True)
def isolated_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No FLEETDECK_* variable or saved login of the machine leaks into a test."""
    for name in ("FLEETDECK_URL", "FLEETDECK_TOKEN", "FLEETDECK_CA_CERT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLEETDECK_CONFIG_DIR", str(tmp_path_factory.mktemp("fdconfig")))
