"""Background loops through the app: a loop that raises shows in the health report and /metrics.

The real app runs its own loops (metrics, logs, alerts, the UI's change feed); a test loop
whose step always raises is registered beside them, as a part would register its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.app import create_app
from fleetdeck.server.context import context_of
from fleetdeck.server.loops import BackgroundLoop, Backoff
from tests.unit.server.conftest import add_user, bearer
from tests.unit.server.test_loops import until

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.loops import LoopRegistry

#: Loops every server runs (links and local agents come and go with nodes).
EVERY_SERVER = {
    "alert-deliveries",
    "alert-evaluator",
    "alert-inventory-watch",
    "logs-pruner",
    "logs-watch",
    "logs-writer",
    "metrics-retention",
    "metrics-writer",
    "ui-change-feed",
}


async def _crashing(app: FastAPI) -> BackgroundLoop:
    async def step() -> None:
        raise RuntimeError("db password is hunter2")

    loops: LoopRegistry = context_of(app).loops
    loop = loops.start(BackgroundLoop("test-crasher", step=step, backoff=Backoff(60, 60)))
    await until("the first failure", lambda: loop.restarts == 1)
    return loop


async def test_a_loop_that_raises_is_restarted_and_reported_in_health_details(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    await _crashing(app)
    viewer = await add_user(client, admin_token, "vera", "viewer")
    response = await client.get("/api/v1/health", headers=bearer(viewer))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    loops = {loop["name"]: loop for loop in body["details"]["loops"]}
    assert EVERY_SERVER <= loops.keys()
    crasher = loops["test-crasher"]
    assert crasher["state"] == "backing-off"
    assert crasher["restarts"] == 1 and crasher["failures"] == 1
    assert crasher["last_error"] == "RuntimeError (details in the server log)"
    assert crasher["last_error_at"] is not None and crasher["next_run"] is not None
    assert "hunter2" not in response.text  # the exception's text stays in the server log
    assert loops["metrics-writer"]["state"] == "running"
    assert loops["metrics-retention"]["interval_s"] == 60.0  # the setting's default
    assert loops["metrics-retention"]["mode"] == "periodic"


async def test_health_tells_only_liveness_to_anyone_else(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _crashing(app)
    for headers in ({}, bearer("fd_not-a-token"), {"Authorization": "Basic eA=="}):
        response = await client.get("/api/v1/health", headers=headers)
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"status", "version"}


async def test_a_loop_that_raises_is_counted_on_metrics(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    await _crashing(app)
    response = await client.get("/metrics", headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert 'fleetdeck_loop_restarts_total{loop="test-crasher"} 1.0' in lines
    assert 'fleetdeck_loop_up{loop="test-crasher",state="backing-off"} 0.0' in lines
    assert 'fleetdeck_loop_up{loop="metrics-writer",state="running"} 1.0' in lines
    assert any(line.startswith('fleetdeck_loop_last_error_timestamp_seconds{loop="test-crasher"}')
               for line in lines)  # fmt: skip


async def test_shutdown_stops_a_loop_its_owner_left_running(settings: ServerSettings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        loop = await _crashing(app)
        assert loop.task is not None
    assert loop.task is None and loop.state.value == "stopped"
    assert {s.state for s in context_of(app).loops.statuses()} == {"stopped"}
