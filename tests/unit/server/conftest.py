"""Fixtures for the server's unit tests: an app on a temporary data dir, logged-in clients.

The app runs in-process over ``httpx.ASGITransport`` with its lifespan entered by hand
(Starlette's TestClient is deprecated with httpx and warnings are errors here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from fleetdeck.server.app import create_app
from fleetdeck.server.config import ServerSettings
from fleetdeck.server.store import Store
from fleetdeck.server.store.migrate import migrate

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from fastapi import FastAPI

ADMIN_PASSWORD = "admin-password-1"  # noqa: S105 - a test fixture's password
USER_PASSWORD = "user-password-1"  # noqa: S105


@pytest.fixture
def settings(tmp_path: Path) -> ServerSettings:
    """Settings for a server whose state lives in a temporary directory."""
    return ServerSettings.load(
        data_dir=tmp_path / "data", listen="127.0.0.1:18443", admin_password=ADMIN_PASSWORD
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated SQLite store of its own (no app around it)."""
    db = Store(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await migrate(db)
    yield db
    await db.close()


@pytest.fixture
async def app(settings: ServerSettings) -> AsyncIterator[FastAPI]:
    """A started app (migrations run, admin created, fleet part started)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def client_for(app: FastAPI, *, raise_errors: bool = True) -> httpx.AsyncClient:
    """A client of ``app`` over https:// (so Secure cookies are sent back)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_errors)
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the started app."""
    async with client_for(app) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    """Headers authenticating with ``token``."""
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, username: str, password: str) -> str:
    """Log in and return the session token (without keeping the cookie on ``client``)."""
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    token: str = response.json()["token"]
    return token


@pytest.fixture
async def admin_token(client: httpx.AsyncClient) -> str:
    """A session token of the first admin."""
    return await login(client, "admin", ADMIN_PASSWORD)


async def add_user(client: httpx.AsyncClient, admin_token: str, username: str, role: str) -> str:
    """Create a user with ``role`` and return a session token of theirs."""
    response = await client.post(
        "/api/v1/users",
        json={"username": username, "password": USER_PASSWORD, "role": role},
        headers=bearer(admin_token),
    )
    assert response.status_code == 201, response.text
    return await login(client, username, USER_PASSWORD)
