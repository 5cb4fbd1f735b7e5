"""A small real registry API on loopback for the image-update tests (aiohttp).

It answers ``HEAD /v2/<name>/manifests/<tag>`` with ``Docker-Content-Digest`` for the tags
it holds, can require a Bearer token (issued by ``GET /token`` for the right basic
credentials), and can be made to answer 503 or 429 (with ``Retry-After``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from types import TracebackType

TOKEN = "tok-1"  # noqa: S105 - a test token


@dataclass
class FakeRegistry:
    """Tags → digests; ``mode``: ``ok``, ``down`` (503) or ``limited`` (429)."""

    tags: dict[str, str] = field(default_factory=dict)
    mode: str = "ok"
    credentials: tuple[str, str] | None = None
    heads: int = 0
    token_requests: int = 0
    accepts: list[str] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    async def _head(self, request: web.Request) -> web.Response:
        self.heads += 1
        self.accepts.append(request.headers.get("Accept", ""))
        if self.mode == "down":
            return web.Response(status=503)
        if self.mode == "limited":
            return web.Response(status=429, headers={"Retry-After": "120"})
        if (
            self.credentials is not None
            and request.headers.get("Authorization") != f"Bearer {TOKEN}"
        ):
            realm = f'Bearer realm="http://{self.host}/token",service="fake"'
            return web.Response(status=401, headers={"WWW-Authenticate": realm})
        key = f"{request.match_info['name']}:{request.match_info['tag']}"
        digest = self.tags.get(key)
        if digest is None:
            return web.Response(status=404)
        return web.Response(status=200, headers={"Docker-Content-Digest": digest})

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        assert self.credentials is not None
        pair = ":".join(self.credentials).encode()
        if request.headers.get("Authorization") != "Basic " + base64.b64encode(pair).decode():
            return web.Response(status=401)
        return web.json_response({"token": TOKEN, "expires_in": 300})

    async def __aenter__(self) -> FakeRegistry:
        app = web.Application()
        app.router.add_route("HEAD", "/v2/{name:.+}/manifests/{tag}", self._head)
        app.router.add_get("/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
