"""Login throttling under concurrent floods, and the bounded audit trail of failed logins."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

from fleetdeck.clock import FrozenClock
from fleetdeck.server.audit import FAILED_LOGIN_ROWS_PER_WINDOW, FAILED_LOGIN_WINDOW, AuditLog
from fleetdeck.server.config import ServerSettings

from .conftest import ADMIN_PASSWORD, bearer, login

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI

    from fleetdeck.server.store import Store

LOGIN = "/api/v1/auth/login"
PER_ADDRESS = 8  # below the default (20): each counted attempt costs an Argon2 hash


@pytest.fixture
def settings(tmp_path: Path) -> ServerSettings:
    """The default per-user limit (5), a smaller per-address one."""
    return ServerSettings.load(
        data_dir=tmp_path / "data",
        listen="127.0.0.1:18443",
        admin_password=ADMIN_PASSWORD,
        login_max_failures_per_address=PER_ADDRESS,
    )


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client of ``app`` whose requests come from ``address`` (as uvicorn would report)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def flood(client: httpx.AsyncClient, usernames: list[str]) -> Counter[int]:
    """Wrong passwords for ``usernames``, all at once; the statuses counted."""
    responses = await asyncio.gather(
        *(client.post(LOGIN, json={"username": u, "password": "wrong-password"}) for u in usernames)
    )
    return Counter(r.status_code for r in responses)


async def test_concurrent_wrong_passwords_for_one_user_are_throttled_at_the_limit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with from_address(app, "10.9.0.1") as attacker:
        statuses = await flood(attacker, ["admin"] * 60)
    # Exactly the limit got to try a password (login_max_failures=5); the rest were refused.
    assert statuses == Counter({401: 5, 429: 55})
    # The admin from elsewhere is not locked out.
    admin = await login(client, "admin", ADMIN_PASSWORD)
    audit = await client.get(
        "/api/v1/audit", params={"action": "auth.login", "target": "admin"}, headers=bearer(admin)
    )
    failed = [e for e in audit.json()["items"] if e["result"] != "ok"]
    assert [(e["detail"]["ip"], e["detail"]["count"]) for e in failed] == [("10.9.0.1", 5)]


async def test_many_usernames_from_one_address_are_throttled_per_address(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with from_address(app, "10.9.0.2") as attacker:
        statuses = await flood(attacker, [f"user{i}" for i in range(80)])
        # One address guesses at most PER_ADDRESS times a minute, whatever the usernames.
        assert statuses == Counter({401: PER_ADDRESS, 429: 80 - PER_ADDRESS})
        late = await attacker.post(LOGIN, json={"username": "admin", "password": ADMIN_PASSWORD})
        assert late.status_code == 429 and "from 10.9.0.2" in late.json()["message"]
    async with from_address(app, "10.9.0.3") as elsewhere:
        ok = await elsewhere.post(LOGIN, json={"username": "admin", "password": ADMIN_PASSWORD})
        assert ok.status_code == 200


async def test_a_success_does_not_use_up_the_address_s_attempts(app: FastAPI) -> None:
    async with from_address(app, "10.9.0.4") as office:
        for _ in range(3):
            ok = await office.post(LOGIN, json={"username": "admin", "password": ADMIN_PASSWORD})
            assert ok.status_code == 200
        statuses = await flood(office, [f"u{i}" for i in range(PER_ADDRESS + 1)])
    assert statuses == Counter({401: PER_ADDRESS, 429: 1})


async def test_failed_logins_are_aggregated_and_capped_per_window(store: Store) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)  # a window boundary; the clock is frozen there
    clock = FrozenClock(start)
    audit = AuditLog(store, clock)
    for _ in range(3):
        await audit.record_failed_login("alice", "10.0.0.1", "invalid username or password")
    await audit.record_failed_login("alice", "10.0.0.2", "invalid username or password")
    for i in range(FAILED_LOGIN_ROWS_PER_WINDOW + 50):
        await audit.record_failed_login(f"guess{i}", "10.0.0.3", "invalid username or password")
    rows, total = await audit.list(action="auth.login", limit=1000)
    assert total == FAILED_LOGIN_ROWS_PER_WINDOW + 1
    by_key = {(r.actor, (r.detail or {})["ip"]): (r.detail or {})["count"] for r in rows}
    assert by_key[("alice", "10.0.0.1")] == 3
    assert by_key[("alice", "10.0.0.2")] == 1
    assert by_key[("-", "*")] == 52  # the failures beyond the cap, in one row
    # The next window starts new rows (a flood adds at most cap + 1 rows per window).
    clock.advance(FAILED_LOGIN_WINDOW)
    await audit.record_failed_login("alice", "10.0.0.1", "invalid username or password")
    rows, total = await audit.list(action="auth.login", target="alice", limit=1000)
    assert sorted((r.detail or {})["count"] for r in rows) == [1, 1, 3]
    clock.advance(timedelta(seconds=1))
    await audit.record_failed_login("alice", "10.0.0.1", "invalid username or password")
    _, again = await audit.list(action="auth.login", target="alice", limit=1000)
    assert again == total
