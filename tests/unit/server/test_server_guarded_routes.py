"""Every /api/v1 route needs credentials, except the four the contract names public.

Written over ``app.routes`` so that routes added later (the fleet part) are covered too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi import routing

from .conftest import ADMIN_PASSWORD, bearer

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

PUBLIC = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/ca"),
    ("POST", "/api/v1/agents/enrol"),
}
_PARAM = re.compile(r"\{[^}]+\}")


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every /api/v1 route, through included routers."""
    found = []
    for context in routing.iter_route_contexts(app.routes):
        path, methods = context.path, context.methods
        if isinstance(context.original_route, routing.APIRoute) and path and methods:
            if path.startswith("/api/v1/"):
                found += [(method, path) for method in sorted(methods - {"HEAD"})]
    return found


async def test_every_route_but_the_public_ones_answers_401_without_credentials(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    routes = api_routes(app)
    assert len(routes) >= 15
    checked = 0
    for method, template in routes:
        if (method, template) in PUBLIC:
            continue
        path = _PARAM.sub("dummy", template)
        for headers in ({}, bearer("fdt_not-a-token"), bearer("fds_not-a-session"), bearer("x")):
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.json()["error"] == "unauthenticated"
            assert response.headers["www-authenticate"] == "Bearer"
        checked += 1
    assert checked >= 12


async def test_the_public_routes_answer_without_credentials(client: httpx.AsyncClient) -> None:
    health = (await client.get("/api/v1/health")).json()
    assert health["status"] == "ok" and health["version"]
    assert (await client.get("/api/v1/ca")).text.startswith("-----BEGIN CERTIFICATE-----")
    bad = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert bad.status_code == 401  # answered by the route itself, not by a guard
    assert bad.json() == {
        "error": "unauthenticated",
        "message": "invalid username or password",
        "hint": None,
    }


async def test_a_session_cookie_authenticates_and_logout_ends_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "fleetdeck_session=" in cookie
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    body = response.json()
    assert body["user"]["username"] == "admin" and body["user"]["role"] == "admin"
    assert body["token"].startswith("fds_") and body["expires_at"]
    assert (await client.get("/api/v1/auth/me")).json()["username"] == "admin"
    # A browser sends its page's Origin with every POST; the cookie counts only with ours.
    same_origin = {"Origin": "https://testserver"}
    assert (await client.post("/api/v1/auth/logout", headers=same_origin)).status_code == 200
    client.cookies.set("fleetdeck_session", body["token"], domain="testserver")
    assert (await client.get("/api/v1/auth/me")).status_code == 401  # the session is gone
