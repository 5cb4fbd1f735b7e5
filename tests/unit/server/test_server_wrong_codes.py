"""Issue #11 finding 12: numbers out of range, unknown stacks' logs, a locked database.

Each used to answer 500 (or 200 and then an aborted stream); each now answers the status of
what went wrong, in the one error shape.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from fleetdeck.server.app import create_app
from fleetdeck.server.config import ServerSettings
from fleetdeck.server.context import context_of

from .conftest import ADMIN_PASSWORD, bearer, client_for, login

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import httpx
    from fastapi import FastAPI

HUGE = "99999999999999999999"  # more than SQLite's 64-bit integers


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/audit", "offset"),
        ("/api/v1/logs/search", "offset"),
        ("/api/v1/alerts", "offset"),
        ("/api/v1/containers", "offset"),
        ("/api/v1/containers", "limit"),
        ("/api/v1/logs/tail", "backlog"),
        ("/api/v1/metrics/query?target=e/n&metric=cpu_percent", "step"),
    ],
)
async def test_a_number_too_large_is_a_422_naming_it(
    client: httpx.AsyncClient, admin_token: str, path: str, param: str
) -> None:
    answer = await client.get(path, params={param: HUGE}, headers=bearer(admin_token))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_input" and param in answer.json()["message"]


async def test_a_revision_too_large_is_a_422(client: httpx.AsyncClient, admin_token: str) -> None:
    answer = await client.get(f"/api/v1/stacks/web/revisions/{HUGE}", headers=bearer(admin_token))
    assert answer.status_code == 422, answer.text
    rollback = await client.post(
        "/api/v1/stacks/web/rollback", json={"revision": int(HUGE)}, headers=bearer(admin_token)
    )
    assert rollback.status_code == 422, rollback.text


async def test_an_overflow_anywhere_is_a_422_not_a_500(app: FastAPI, admin_token: str) -> None:
    async def overflowing() -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    app.add_api_route("/api/v1/test-overflow", overflowing)
    async with client_for(app, raise_errors=False) as client:
        answer = await client.get("/api/v1/test-overflow")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_input"


async def test_logs_of_an_unknown_stack_are_a_404_before_any_stream(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    answer = await client.get("/api/v1/stacks/no-such-stack/logs", headers=bearer(admin_token))
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"] == "not_found"


@pytest.fixture
async def quick_busy_app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    """An app whose SQLite statements wait only 0.2 s for another process's lock."""
    settings = ServerSettings.load(
        data_dir=tmp_path / "data", listen="127.0.0.1:18443", admin_password=ADMIN_PASSWORD,
        db_busy_timeout_s=0.2,
    )  # fmt: skip
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_a_database_locked_by_another_process_is_a_503_with_retry_after(
    quick_busy_app: FastAPI,
) -> None:
    db = context_of(quick_busy_app).settings.data_dir / "fleetdeck.db"
    async with client_for(quick_busy_app, raise_errors=False) as client:
        token = await login(client, "admin", ADMIN_PASSWORD)
        other = sqlite3.connect(db, isolation_level=None)  # another process's connection
        try:
            other.execute("BEGIN EXCLUSIVE")
            answer = await client.post(
                "/api/v1/users",
                json={"username": "locked-out", "password": "long-enough-1", "role": "viewer"},
                headers=bearer(token),
            )
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"] == "store_busy"
            assert int(answer.headers["Retry-After"]) > 0
            reads = await client.get("/api/v1/users", headers=bearer(token))
            assert reads.status_code == 200  # WAL: readers go on while a writer holds the lock
        finally:
            other.execute("ROLLBACK")
            other.close()
        again = await client.post(
            "/api/v1/users",
            json={"username": "locked-out", "password": "long-enough-1", "role": "viewer"},
            headers=bearer(token),
        )
        assert again.status_code == 201, again.text
