"""What protects a logged-in browser: same-origin changes only, local redirects, headers."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from starlette.requests import Request

from fleetdeck.errors import PermissionDeniedError
from fleetdeck.server.auth.origin import check_same_origin
from fleetdeck.server.ui.pages import _safe_next

from .conftest import ADMIN_PASSWORD, bearer, client_for, login

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import FastAPI

OURS = "https://testserver"


def request(headers: dict[str, str], scheme: str = "https") -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "scheme": scheme,
        "path": "/api/v1/tokens",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "server": ("fleet.example", 8443),
    }
    return Request(scope)


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "fleet.example:8443", "Origin": "https://fleet.example:8443"},
        {"Host": "fleet.example:8443", "Origin": "HTTPS://Fleet.Example:8443"},
        {"Host": "fleet.example", "Origin": "https://fleet.example:443"},
        {"Host": "[::1]:8443", "Origin": "https://[::1]:8443"},
        {
            "Host": "fleet.example:8443",
            "Origin": "https://fleet.example:8443",
            "Sec-Fetch-Site": "same-origin",
        },
        {"Host": "10.0.0.5:8443", "Origin": "https://fleet.example", "Trusted": "1"},
    ],
)
def test_same_origin_requests_pass(headers: dict[str, str]) -> None:
    trusted = ["https://fleet.example"] if headers.pop("Trusted", None) else []
    check_same_origin(request(headers), trusted)


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "https://evil.example"}, "Origin"),
        ({"Origin": "https://fleet.example:8080"}, "Origin"),  # another port of the same host
        ({"Origin": "http://fleet.example:8443"}, "Origin"),  # another scheme
        ({"Origin": "https://fleet.example.evil.example:8443"}, "Origin"),
        ({"Origin": "null"}, "Origin"),
        ({}, "needs an Origin"),
        ({"Origin": "https://fleet.example:8443", "Sec-Fetch-Site": "same-site"}, "Sec-Fetch"),
        ({"Origin": "https://fleet.example:8443", "Sec-Fetch-Site": "cross-site"}, "Sec-Fetch"),
        ({"Origin": "https://fleet.example:8443", "Sec-Fetch-Site": "none"}, "Sec-Fetch"),
        ({"Sec-Fetch-Site": "same-origin"}, "needs an Origin"),
    ],
)
def test_other_origins_are_refused(headers: dict[str, str], why: str) -> None:
    with pytest.raises(PermissionDeniedError, match=why):
        check_same_origin(request({"Host": "fleet.example:8443", **headers}))


@asynccontextmanager
async def cookie_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the admin's session cookie, as a browser would after logging in."""
    async with client_for(app) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert response.status_code == 200
        yield client


async def test_cookie_changes_need_this_server_s_origin(app: FastAPI) -> None:
    async with cookie_client(app) as browser:
        token = browser.cookies["fleetdeck_session"]
        refused = {
            "foreign origin": {"Origin": "https://evil.example"},
            "another port": {"Origin": "https://testserver:8444"},
            "null origin": {"Origin": "null"},
            "no origin": {},
            "same-site fetch": {"Origin": OURS, "Sec-Fetch-Site": "same-site"},
        }
        for case, headers in refused.items():
            response = await browser.post("/api/v1/tokens", json={"name": case}, headers=headers)
            assert response.status_code == 403, case
            assert response.json()["error"] == "permission_denied", case
            deleted = await browser.delete("/api/v1/tokens/x", headers=headers)
            assert deleted.status_code == 403, case
        listed = await browser.get("/api/v1/tokens", headers={"Origin": "https://evil.example"})
        assert listed.status_code == 200 and listed.json() == []  # reads are not changes
        made = await browser.post(
            "/api/v1/tokens",
            json={"name": "ours"},
            headers={"Origin": OURS, "Sec-Fetch-Site": "same-origin"},
        )
        assert made.status_code == 201
        # A bearer token is not sent by browsers on their own: any Origin is fine with it.
        browser.cookies.clear()
        with_bearer = await browser.post(
            "/api/v1/tokens",
            json={"name": "script"},
            headers={**bearer(token), "Origin": "https://evil.example"},
        )
        assert with_bearer.status_code == 201
        audit = await browser.get(
            "/api/v1/audit", params={"action": "token.create"}, headers=bearer(token)
        )
        assert sorted(e["target"] for e in audit.json()["items"]) == ["ours", "script"]


async def test_the_login_form_cannot_be_posted_from_another_origin(
    client: httpx.AsyncClient,
) -> None:
    body = {"username": "admin", "password": ADMIN_PASSWORD}
    for origin in ("https://evil.example", "https://testserver:8444", "null"):
        response = await client.post("/api/v1/auth/login", json=body, headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert "set-cookie" not in response.headers
    ours = await client.post("/api/v1/auth/login", json=body, headers={"Origin": OURS})
    assert ours.status_code == 200
    cli = await client.post("/api/v1/auth/login", json=body)  # no browser headers: the CLI
    assert cli.status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/phish",
        "/\\evil.example/phish",
        "/\\\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "\t//evil.example",
        "///evil.example",
        "https://evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/ok\\..\\",
        "",
        None,
    ],
)
def test_login_redirect_targets_other_than_local_paths_go_home(target: str | None) -> None:
    assert _safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/containers?state=running", "/containers/a%2Fb#logs"])
def test_local_login_redirect_targets_are_kept(target: str) -> None:
    assert _safe_next(target) == target


async def test_a_logged_in_visit_to_login_never_leaves_the_server(app: FastAPI) -> None:
    async with cookie_client(app) as browser:
        for raw in (
            "/%5Chost:9443/phish",
            "%2F%2Fhost",
            "/%5C%5Chost",
            "https://host",
            "/%09/host",
            "%0a//host",
        ):
            response = await browser.get(f"/login?next={raw}")
            assert response.status_code == 303, raw
            assert response.headers["location"] == "/", raw
        kept = await browser.get("/login?next=%2Fcontainers")
        assert kept.headers["location"] == "/containers"
    async with client_for(app) as anonymous:
        page = await anonymous.get("/login?next=/%5Chost:9443/phish")
        assert page.status_code == 200 and 'data-next="/"' in page.text


async def test_security_headers_on_pages_api_static_and_errors(app: FastAPI) -> None:
    admin = ""
    async with client_for(app) as client:
        admin = await login(client, "admin", ADMIN_PASSWORD)
        for path, status in (
            ("/login", 200),
            ("/", 303),
            ("/static/app.js", 200),
            ("/api/v1/health", 200),
            ("/api/v1/auth/me", 401),
            ("/api/v1/no-such-route", 404),
        ):
            response = await client.get(path)
            assert response.status_code == status, path
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
            assert (
                "unsafe-eval" not in csp
                and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
            )
            assert response.headers["x-frame-options"] == "DENY", path
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["referrer-policy"] == "same-origin", path
            assert response.headers["strict-transport-security"].startswith("max-age="), path
        me = await client.get("/api/v1/auth/me", headers=bearer(admin))
        assert me.headers["x-frame-options"] == "DENY"
    async with client_for(app) as client:
        client.base_url = "http://testserver"
        plain = await client.get("/api/v1/health")
        assert "strict-transport-security" not in plain.headers  # HSTS only over HTTPS
        assert plain.headers["x-content-type-options"] == "nosniff"
