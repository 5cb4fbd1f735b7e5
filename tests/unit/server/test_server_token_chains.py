"""API tokens made with API tokens: children that die with their parent and never outlive it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import update

from fleetdeck.clock import FrozenClock
from fleetdeck.server.app import create_app
from fleetdeck.server.context import context_of
from fleetdeck.server.store.models import ApiToken

from .conftest import ADMIN_PASSWORD, bearer, client_for, login

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings

START = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def clock() -> FrozenClock:
    """The server's present, moved by the tests."""
    return FrozenClock(START)


@pytest.fixture
async def frozen_app(settings: ServerSettings, clock: FrozenClock) -> AsyncIterator[FastAPI]:
    """A started app that sees the present by ``clock``."""
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(frozen_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the frozen-clock app."""
    async with client_for(frozen_app) as test_client:
        yield test_client


async def make(
    api: httpx.AsyncClient, credential: str, name: str, days: int | None = None
) -> dict[str, Any]:
    """Create a token authenticated by ``credential``; the reply (with the secret)."""
    body: dict[str, Any] = {"name": name}
    if days is not None:
        body["expires_in_days"] = days
    response = await api.post("/api/v1/tokens", json=body, headers=bearer(credential))
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def works(api: httpx.AsyncClient, token: dict[str, Any]) -> bool:
    """Whether the token authenticates now."""
    response = await api.get("/api/v1/auth/me", headers=bearer(token["token"]))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def test_a_child_never_outlives_its_parent(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    session = await login(api, "admin", ADMIN_PASSWORD)
    day = await make(api, session, "one-day", days=1)
    assert day["parent_id"] is None  # made from a login session: a root
    expiry = datetime.fromisoformat(day["expires_at"])
    assert expiry == START + timedelta(days=1)
    forever = await make(api, day["token"], "asks-for-no-expiry")
    longer = await make(api, day["token"], "asks-for-a-year", days=365)
    shorter = await make(api, day["token"], "asks-for-less", days=1)
    grandchild = await make(api, forever["token"], "grandchild", days=30)
    for child in (forever, longer, grandchild):
        assert datetime.fromisoformat(child["expires_at"]) == expiry, child["name"]
    assert forever["parent_id"] == longer["parent_id"] == day["id"]
    assert grandchild["parent_id"] == forever["id"]
    assert datetime.fromisoformat(shorter["expires_at"]) == expiry  # asked exactly as long
    clock.advance(timedelta(days=1) - timedelta(seconds=1))
    assert all([await works(api, t) for t in (day, forever, longer, shorter, grandchild)])
    clock.advance(timedelta(seconds=1))
    assert not any([await works(api, t) for t in (day, forever, longer, shorter, grandchild)])


async def test_revoking_a_token_revokes_its_whole_tree(api: httpx.AsyncClient) -> None:
    session = await login(api, "admin", ADMIN_PASSWORD)
    root = await make(api, session, "root")
    other_root = await make(api, session, "other-root")
    child = await make(api, root["token"], "child")
    sibling = await make(api, root["token"], "sibling")
    grandchild = await make(api, child["token"], "grandchild")
    great = await make(api, grandchild["token"], "great-grandchild")
    # Revoking a middle token ends its subtree only.
    middle = await api.delete(f"/api/v1/tokens/{child['id']}", headers=bearer(session))
    assert middle.status_code == 200 and middle.json()["revoked"] is True
    assert not any([await works(api, t) for t in (child, grandchild, great)])
    assert all([await works(api, t) for t in (root, sibling, other_root)])
    # Revoking the root ends the rest of the tree; another root is untouched.
    top = await api.delete(f"/api/v1/tokens/{root['id']}", headers=bearer(session))
    assert top.status_code == 200
    assert not any([await works(api, t) for t in (root, sibling)])
    assert await works(api, other_root)
    listed = {
        t["name"]: t for t in (await api.get("/api/v1/tokens", headers=bearer(session))).json()
    }
    assert {n for n, t in listed.items() if t["revoked"]} == {
        "root",
        "child",
        "sibling",
        "grandchild",
        "great-grandchild",
    }
    audit = await api.get(
        "/api/v1/audit", params={"action": "token.revoke"}, headers=bearer(session)
    )
    details = [e["detail"] for e in audit.json()["items"]]
    # The child's subtree was revoked before.
    assert {"descendants": [sibling["id"]], "ip": "127.0.0.1"} in details
    assert sorted(next(d for d in details if d and len(d["descendants"]) == 2)["descendants"]) == (
        sorted([grandchild["id"], great["id"]])
    )


async def test_a_child_dies_with_its_parent_even_if_it_was_never_marked(
    api: httpx.AsyncClient, frozen_app: FastAPI, clock: FrozenClock
) -> None:
    # The check at use walks the chain: a parent revoked by any means ends its children.
    session = await login(api, "admin", ADMIN_PASSWORD)
    root = await make(api, session, "root")
    child = await make(api, root["token"], "child")
    grandchild = await make(api, child["token"], "grandchild")
    async with context_of(frozen_app).store.transaction() as db:
        await db.execute(
            update(ApiToken).where(ApiToken.id == root["id"]).values(revoked_at=clock.now())
        )
    assert not await works(api, child)
    assert not await works(api, grandchild)


async def test_a_child_s_role_is_at_most_its_parent_s(api: httpx.AsyncClient) -> None:
    session = await login(api, "admin", ADMIN_PASSWORD)
    viewer = await api.post(
        "/api/v1/tokens", json={"name": "ro", "role": "viewer"}, headers=bearer(session)
    )
    higher = await api.post(
        "/api/v1/tokens",
        json={"name": "up", "role": "operator"},
        headers=bearer(viewer.json()["token"]),
    )
    assert higher.status_code == 403
    same = await make(api, viewer.json()["token"], "ro-child")
    assert same["role"] == "viewer"
