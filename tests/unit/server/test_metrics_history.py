"""Metrics history: writer batches into real SQLite, step aggregation, validation, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from fleetdeck.clock import FrozenClock
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.app import create_app
from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.hub import MetricsBatch
from fleetdeck.server.fleet.inventory import FleetInventory
from fleetdeck.server.metrics.query import MAX_POINTS, MetricsQuery
from fleetdeck.server.metrics.writer import MetricsWriter
from fleetdeck.server.store.models import MetricSample

from .conftest import ADMIN_PASSWORD, bearer, client_for, login

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.store import Store

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
#: The present these tests assume: two minutes after the first sample, so raw samples are
#: within retention and queries read them (the server's clock, not the machine's, decides).
CLOCK = FrozenClock(T0 + timedelta(minutes=2))


def message(
    at: datetime, cpu: float, *, name: str = "web", cid: str = "c1abcdef"
) -> dict[str, Any]:
    return {
        "type": "metrics",
        "rev": 1,
        "time": at.isoformat(),
        "host": {
            "cpu_percent": cpu * 10,
            "memory_available_bytes": 1000,
            "filesystems": {"/": {"fs_used_percent": 40.0}, "/data": {"fs_used_percent": 70.0}},
            "interfaces": {"eth0": {"net_rx_bytes_per_s": 5.0}},
            "unknown_metric": 1,
        },
        "containers": {cid: {"name": name, "cpu_cores": cpu, "restart_count": 0}},
    }


async def fill(store: Store) -> MetricsWriter:
    writer = MetricsWriter(store, retention_s=86400, clock=CLOCK)
    items = [("env", "n1", message(T0 + timedelta(seconds=10 * i), float(i))) for i in range(12)]
    assert await writer.write(items) == 12 * 7
    return writer


async def run(store: Store, target: str, metric: str, step: int = 30) -> dict[str, Any]:
    end = (T0 + timedelta(minutes=2)).isoformat()
    query = MetricsQuery.build(target, metric, T0.isoformat(), end, step, clock=CLOCK)
    return await query.run(store)


async def test_points_are_averaged_per_step(store: Store) -> None:
    await fill(store)
    result = await run(store, "env/n1/web", "cpu_cores")
    assert result["kind"] == "container" and result["step"] == 30
    [series] = result["series"]
    assert [p["value"] for p in series["points"]] == [1.0, 4.0, 7.0, 10.0]  # avg of 3 each
    assert series["points"][1]["time"] == (T0 + timedelta(seconds=30)).isoformat()
    by_id = await run(store, "env/n1/c1abc", "cpu_cores", step=120)
    assert by_id["series"][0]["points"][0]["value"] == 5.5


async def test_host_series_per_instance(store: Store) -> None:
    await fill(store)
    fs = await run(store, "env/n1", "fs_used_percent", step=60)
    assert {s["instance"]: s["points"][0]["value"] for s in fs["series"]} == {
        "/": 40.0,
        "/data": 70.0,
    }
    assert (await run(store, "env/n2", "cpu_percent"))["series"] == []


async def test_replayed_samples_are_not_counted_twice(store: Store) -> None:
    writer = await fill(store)
    await writer.write([("env", "n1", message(T0, 99.0))])  # same series, same time
    async with store.session() as s:
        assert await s.scalar(select(func.count()).select_from(MetricSample)) == 12 * 7
    result = await run(store, "env/n1/web", "cpu_cores", step=10)
    assert result["series"][0]["points"][0]["value"] == 0.0


async def test_a_redeployed_container_keeps_one_history_by_name(store: Store) -> None:
    writer = await fill(store)
    later = T0 + timedelta(seconds=125)
    await writer.write([("env", "n1", message(later, 50.0, cid="c2new"))])
    end = (T0 + timedelta(minutes=3)).isoformat()
    query = MetricsQuery.build("env/n1/web", "cpu_cores", T0.isoformat(), end, 180, clock=CLOCK)
    assert (await query.run(store))["series"][0]["points"][0]["value"] == pytest.approx(
        (sum(range(12)) + 50.0) / 13
    )


@pytest.mark.parametrize(
    ("target", "metric", "start", "end", "step", "says"),
    [
        ("env/n1", "nope", None, None, None, "unknown metric"),
        ("env/n1", "pids", None, None, None, "not kept for a host"),
        ("env", "cpu_cores", None, None, None, "bad metrics target"),
        ("env/n1", "cpu_cores", "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z", None, "before"),
        ("env/n1", "cpu_cores", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", 1, "at most"),
        ("env/n1", "cpu_cores", "yesterday", None, None, "ISO 8601"),
        ("env/n1", "cpu_cores", None, None, 0, "at least 1"),
    ],
)
def test_bad_queries_are_refused(
    target: str, metric: str, start: str | None, end: str | None, step: int | None, says: str
) -> None:
    with pytest.raises(InvalidInputError, match=says):
        MetricsQuery.build(target, metric, start, end, step)


def test_default_range_and_step() -> None:
    query = MetricsQuery.build("env/n1/web", "cpu_cores", now=T0)
    assert query.end == T0 and query.start == T0 - timedelta(hours=1)
    assert query.step == 10
    week = MetricsQuery.build("e/n", "load1", "0", str(7 * 86400))
    assert (week.end - week.start).total_seconds() / week.step <= MAX_POINTS


def test_the_inventory_hands_metrics_to_the_sink_without_touching_rev() -> None:
    inventory = FleetInventory()
    got: list[tuple[str, str, dict[str, Any]]] = []
    inventory.apply("env", "n1", {"type": "heartbeat", "rev": 7})
    version = inventory.version
    inventory.hub.subscribe(MetricsBatch, lambda b: got.append((b.environment, b.node, b.message)))
    inventory.apply("env", "n1", message(T0, 1.0))
    assert [(e, n) for e, n, _ in got] == [("env", "n1")]
    state = inventory.find_node("env", "n1")
    assert state is not None and state.rev == 7 and inventory.version == version


async def test_the_api_serves_names_and_history(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    headers = bearer(admin_token)
    names = await client.get("/api/v1/metrics/names", headers=headers)
    assert names.status_code == 200
    assert {"cpu_cores", "memory_working_set_bytes"} <= {m["name"] for m in names.json()}
    context_of(app).fleet.inventory.apply("local", "n1", message(datetime.now(UTC), 2.0))
    await context_of(app).metrics.drained()
    params = {"target": "nowhere/n1", "metric": "cpu_cores"}
    missing = await client.get("/api/v1/metrics/query", params=params, headers=headers)
    assert missing.status_code == 404
    bad = await client.get(
        "/api/v1/metrics/query", params={"target": "a/b", "metric": "x"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"
    unauthenticated = await client.get("/api/v1/metrics/names")
    assert unauthenticated.status_code == 401


async def test_the_api_takes_the_present_from_the_server_clock(settings: ServerSettings) -> None:
    # A server whose present is T0 + 2 min: the default range (the last hour) and the choice
    # of raw samples follow that clock, whatever the machine's date is.
    application = create_app(settings, clock=CLOCK)
    async with application.router.lifespan_context(application), client_for(application) as c:
        token = await login(c, "admin", ADMIN_PASSWORD)
        made = await c.post("/api/v1/environments", json={"name": "e1"}, headers=bearer(token))
        assert made.status_code == 201, made.text
        for i in range(12):
            at = T0 + timedelta(seconds=10 * i)
            context_of(application).fleet.inventory.apply("e1", "n1", message(at, float(i)))
        await context_of(application).metrics.drained()
        params = {"target": "e1/n1/web", "metric": "cpu_cores", "step": "30"}
        answer = await c.get("/api/v1/metrics/query", params=params, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["end"] == CLOCK.now().isoformat() and result["step"] == 30
    assert [p["value"] for p in result["series"][0]["points"]][-4:] == [1.0, 4.0, 7.0, 10.0]
