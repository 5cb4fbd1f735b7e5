"""Bad input gets a 4xx in the one error shape; nothing answers a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .conftest import bearer, client_for

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

BAD_BODIES = [
    ("POST", "/api/v1/users", b"{not json"),
    ("POST", "/api/v1/users", b'{"username": 5, "password": [], "role": "king"}'),
    ("POST", "/api/v1/users", b'{"username": "u", "password": "long-enough", "extra": 1}'),
    ("POST", "/api/v1/users", b'"a string"'),
    ("POST", "/api/v1/users", b"null"),
    ("POST", "/api/v1/tokens", b'{"name": "t", "expires_in_days": -3}'),
    ("POST", "/api/v1/tokens", b'{"name": "t", "role": "root"}'),
    ("POST", "/api/v1/registries", b'{"name": "x"}'),
    ("PATCH", "/api/v1/users/admin", b'{"disabled": "maybe"}'),
    ("POST", "/api/v1/auth/login", b"[]"),
    ("POST", "/api/v1/auth/login", b"\xff\xfe not UTF-8"),  # FastAPI's own 400, now 422
    ("POST", "/api/v1/auth/login", b'{"username": "", "password": "x"}'),
]


@pytest.mark.parametrize(("method", "path", "content"), BAD_BODIES)
async def test_malformed_input_is_a_422_in_the_error_shape(
    client: httpx.AsyncClient, admin_token: str, method: str, path: str, content: bytes
) -> None:
    headers = bearer(admin_token) | {"Content-Type": "application/json"}
    response = await client.request(method, path, content=content, headers=headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error", "message", "hint"}
    assert body["error"] == "invalid_input"
    assert "Traceback" not in response.text


async def test_domain_errors_say_what_is_wrong(client: httpx.AsyncClient, admin_token: str) -> None:
    short = await client.post(
        "/api/v1/users",
        json={"username": "bob", "password": "short", "role": "viewer"},
        headers=bearer(admin_token),
    )
    assert short.status_code == 422 and "at least 8" in short.json()["message"]
    odd = await client.post(
        "/api/v1/users",
        json={"username": "../etc", "password": "long-enough", "role": "viewer"},
        headers=bearer(admin_token),
    )
    assert odd.status_code == 422 and odd.json()["hint"]
    missing = await client.patch(
        "/api/v1/users/ghost", json={"role": "viewer"}, headers=bearer(admin_token)
    )
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_unknown_routes_and_methods_use_the_error_shape(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/api/v1/nope")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    wrong = await client.put("/api/v1/health")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


async def test_an_unexpected_error_is_a_500_without_details(app: FastAPI) -> None:
    @app.get("/api/v1/test-boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with client_for(app, raise_errors=False) as client:
        response = await client.get("/api/v1/test-boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal",
        "message": "internal error (see server log)",
        "hint": None,
    }
    assert "secret internals" not in response.text
