"""The console websocket's refusals: no session, a viewer, a page of another site, bad flags.

The CLI (``fleetdeck exec -i/-t``) opens the same socket with a bearer token and no Origin.

The route accepts the socket, sends one ``{"type": "error"}`` frame saying why, and closes
it, before it looks at the container or reaches any agent.

The socket is driven over plain ASGI (a ``websocket`` scope and two queues) rather than
Starlette's TestClient: with httpx instead of httpx2 importing the TestClient raises a
StarletteDeprecationWarning, and warnings are errors in this suite.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from .conftest import ADMIN_PASSWORD, add_user, bearer, login

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    import httpx
    from fastapi import FastAPI

PATH = "/api/v1/containers/lab/node1/web/console"
HOST = "testserver"


async def console(
    app: FastAPI,
    *,
    session: str | None = None,
    origin: str | None = None,
    token: str | None = None,
    query: bytes = b"cmd=sh",
) -> list[dict[str, Any]]:
    """Open the console as a browser (cookie) or the CLI (token) would; what the server sent."""
    headers = [(b"host", HOST.encode())]
    if session:
        headers.append((b"cookie", f"fleetdeck_session={session}".encode()))
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if origin:
        headers.append((b"origin", origin.encode()))
    scope: dict[str, Any] = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "wss",
        "server": (HOST, 443),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": query,
        "headers": headers,
        "subprotocols": [],
    }
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    sent: list[dict[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))
        if message["type"] == "websocket.close":
            await inbox.put({"type": "websocket.disconnect", "code": 1000})

    await asyncio.wait_for(app(scope, inbox.get, send), timeout=10)
    return sent


def error_of(sent: list[dict[str, Any]]) -> str:
    """The error message of an accepted-then-refused socket (checks the frame sequence)."""
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    frame = json.loads(sent[1]["text"])
    assert frame["type"] == "error"
    message: str = frame["message"]
    return message


async def consoles_audited(client: httpx.AsyncClient, admin_token: str) -> list[Any]:
    response = await client.get("/api/v1/audit?limit=200", headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body if isinstance(body, list) else body["items"]
    return [e for e in rows if e["action"] == "container.console"]


async def test_without_a_session_the_console_is_refused(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    assert error_of(await console(app)) == "authentication required"
    assert error_of(await console(app, session="fds_not-a-session")) == (
        "invalid or expired credentials"
    )
    assert await consoles_audited(client, admin_token) == []


async def test_a_viewer_is_refused_the_console(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    viewer = await add_user(client, admin_token, "vera", "viewer")
    message = error_of(await console(app, session=viewer, origin=f"https://{HOST}"))
    assert message == "the console needs the operator role; you have viewer"
    assert await consoles_audited(client, admin_token) == []


async def test_a_page_of_another_site_is_refused_even_for_an_admin(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await login(client, "admin", ADMIN_PASSWORD)
    for origin in ("https://evil.example", f"https://{HOST}.evil.example", "null"):
        message = error_of(await console(app, session=admin, origin=origin))
        assert message == "the console only accepts connections from this server's UI", origin


async def test_the_server_s_own_page_gets_past_the_checks(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await login(client, "admin", ADMIN_PASSWORD)
    message = error_of(await console(app, session=admin, origin=f"https://{HOST}"))
    # Not a refusal: the checks passed and the (unknown) container was looked up.
    assert "console" not in message and "authentication" not in message, message


async def test_the_cli_s_bearer_token_without_origin_gets_past_the_checks(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    message = error_of(await console(app, token=admin_token, query=b"cmd=sh&tty=0&stdin=1"))
    assert message == "no environment 'lab'"  # the checks passed; the lookup answered


async def test_a_bearer_token_is_held_to_the_operator_role_and_the_origin(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    viewer = await add_user(client, admin_token, "vic", "viewer")
    assert error_of(await console(app, token=viewer)) == (
        "the console needs the operator role; you have viewer"
    )
    # A page of another site that somehow sends a token is still a page of another site.
    message = error_of(await console(app, token=admin_token, origin="https://evil.example"))
    assert message == "the console only accepts connections from this server's UI"


async def test_a_bad_mode_flag_is_refused_with_its_kind(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    sent = await console(app, token=admin_token, query=b"cmd=sh&tty=yes")
    assert error_of(sent) == "the console's tty must be 0 or 1, not 'yes'"
    assert json.loads(sent[1]["text"])["kind"] == "invalid_input"
