"""``/api/v1/stacks/{name}/drift`` through the real app: bad input, roles, unknown stacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .conftest import add_user, bearer

if TYPE_CHECKING:
    import httpx


async def test_bad_bodies_unknown_stacks_and_roles_are_refused_cleanly(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    auth = bearer(admin_token)
    for body in ({"policy": "sometimes"}, {"suspended": "maybe"}, {"bogus": 1}):
        response = await client.put("/api/v1/stacks/shop/drift", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"] == "invalid_input"
    for method in ("GET", "PUT"):
        response = await client.request(
            method, "/api/v1/stacks/shop/drift", json={"policy": "revert"}, headers=auth
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found"
    response = await client.get("/api/v1/stacks/Bad%20Name!/drift", headers=auth)
    assert response.status_code == 422 and response.json()["error"] == "invalid_input"
    viewer = await add_user(client, admin_token, "vera", "viewer")
    response = await client.put(
        "/api/v1/stacks/shop/drift", json={"policy": "revert"}, headers=bearer(viewer)
    )
    assert response.status_code == 403
    health = await client.get("/api/v1/health", headers=auth)
    assert "drift" in {loop["name"] for loop in health.json()["details"]["loops"]}
