"""The alert evaluator and delivery worker over a real store and inventory (fake notifier).

Covers the state machine (pending → firing → resolved), dedup, grouping, repeat and ack,
silences and maintenance windows, events, crash convergence, and delivery retry where a
failing or hanging channel does not hold back a good one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from fleetdeck.server.alerts.delivery import BATCH, DeliveryPolicy
from fleetdeck.server.alerts.service import AlertService
from fleetdeck.server.alerts.state import AlertState, advance
from fleetdeck.server.store import Store
from fleetdeck.server.store.migrate import migrate
from fleetdeck.server.store.models_alerts import (
    Alert,
    AlertDelivery,
    AlertSilence,
    MaintenanceWindow,
)

from .alerts_helpers import T0, add_channel, add_rule, container, engine, snapshot

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from .alerts_helpers import Engine


#: The built-in node-unreachable rule's ``for``.
HELD = timedelta(seconds=30)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    db = Store(f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}")
    await migrate(db)
    yield db
    await db.close()


async def _alerts(store: Store) -> list[Alert]:
    async with store.session() as session:
        return list((await session.scalars(select(Alert).order_by(Alert.started_at))).all())


async def _deliveries(store: Store) -> list[AlertDelivery]:
    async with store.session() as session:
        rows = await session.scalars(select(AlertDelivery).order_by(AlertDelivery.created_at))
        return list(rows.all())


def test_state_machine_pending_firing_resolved_and_dropped() -> None:
    alert = Alert(state=AlertState.pending, started_at=T0, summary="", labels={})
    from fleetdeck.server.alerts.conditions import Candidate

    holds = Candidate("fp", {}, "cpu high", 95.0)
    assert advance(alert, holds, 60, T0 + timedelta(seconds=30))
    assert alert.state == AlertState.pending and alert.value == 95.0
    assert advance(alert, holds, 60, T0 + timedelta(seconds=60))
    assert alert.state == AlertState.firing and alert.fired_at == T0 + timedelta(seconds=60)
    assert advance(alert, None, 60, T0 + timedelta(seconds=90))
    assert alert.state == AlertState.resolved
    flicker = Alert(state=AlertState.pending, started_at=T0, summary="", labels={})
    assert advance(flicker, None, 60, T0 + timedelta(seconds=10)) is False  # never notified


async def _unreachable(e: Engine, env: str, node: str) -> None:
    snapshot(e.inventory, env, node, [])
    e.inventory.mark_unreachable(env, node, "no heartbeat for 10s")


async def test_node_unreachable_fires_once_repeats_after_interval_and_resolves_once(
    store: Store, tmp_path: Path
) -> None:
    e = await engine(store, tmp_path, builtin=True)
    await add_channel(store, "good", "json://good")
    await _unreachable(e, "prod", "n1")
    assert await e.evaluator.evaluate(T0 - HELD) == 0  # built-in: pending for 30 s first
    assert await e.evaluator.evaluate(T0) == 1
    assert await e.evaluator.evaluate(T0 + timedelta(seconds=30)) == 0  # deduplicated
    [alert] = await _alerts(store)
    assert (alert.rule, alert.state, alert.labels) == (
        "node-unreachable",
        "firing",
        {"environment": "prod", "node": "n1"},
    )
    assert await e.evaluator.evaluate(T0 + timedelta(hours=1, seconds=1)) == 1  # repeat
    snapshot(e.inventory, "prod", "n1", [])  # back: a new stream's snapshot
    assert await e.evaluator.evaluate(T0 + timedelta(hours=1, seconds=5)) == 1
    assert await e.evaluator.evaluate(T0 + timedelta(hours=3)) == 0
    events = [d.event for d in await _deliveries(store)]
    assert events == ["firing", "repeat", "resolved"]
    assert [a.state for a in await _alerts(store)] == ["resolved"]


async def test_an_acknowledged_alert_is_not_repeated(store: Store, tmp_path: Path) -> None:
    e = await engine(store, tmp_path, builtin=True)
    await add_channel(store, "good", "json://good")
    await _unreachable(e, "prod", "n1")
    await e.evaluator.evaluate(T0 - HELD)
    await e.evaluator.evaluate(T0)
    async with store.transaction() as session:
        alert = (await session.scalars(select(Alert))).one()
        alert.acked_by, alert.acked_at = "ops", T0
    assert await e.evaluator.evaluate(T0 + timedelta(hours=5)) == 0


async def test_alerts_of_one_rule_and_environment_are_grouped_in_one_message(
    store: Store, tmp_path: Path
) -> None:
    e = await engine(store, tmp_path)
    await add_rule(store, name="crashed", condition="container_exited")
    await add_channel(store, "good", "json://good")
    exited = {"state": "exited", "status": "Exited (3) 1 second ago"}
    stopped = {"state": "exited", "status": "Exited (143) 1 second ago"}
    snapshot(e.inventory, "prod", "n1", [container("a1", "web", **exited),
                                         container("b2", "api", **exited),
                                         container("c3", "stopped", **stopped)])  # fmt: skip
    snapshot(e.inventory, "lab", "n2", [container("d4", "job", **exited)])
    assert await e.evaluator.evaluate(T0) == 2  # prod (2 alerts) and lab (1)
    by_title = {d.title: d for d in await _deliveries(store)}
    prod = next(d for t, d in by_title.items() if "in prod" in t)
    assert len(prod.alert_ids) == 2 and "(2 alerts)" in prod.title
    assert "container=web" in prod.body and "container=api" in prod.body
    assert "stopped" not in prod.body  # exit 143: stopped on purpose


async def test_for_duration_holds_a_metric_alert_pending_first(
    store: Store, tmp_path: Path
) -> None:
    e = await engine(store, tmp_path)
    await add_rule(store, name="hot", metric="cpu_cores", target="container", operator=">",
                   threshold=0.5, labels=["app=web"], **{"for": "20s"})  # fmt: skip
    await add_channel(store, "good", "json://good")
    snapshot(e.inventory, "prod", "n1", [container("a1", "web", labels={"app": "web"}),
                                         container("b2", "other")])  # fmt: skip
    for offset, cores in ((0, 0.9), (10, 0.9), (20, 0.95), (30, 0.1)):
        when = T0 + timedelta(seconds=offset)
        e.evaluator.figures.offer("prod", "n1", {
            "time": when.isoformat(),
            "containers": {"a1": {"name": "web", "cpu_cores": cores},
                           "b2": {"name": "other", "cpu_cores": 2.0}},
        })  # fmt: skip
        await e.evaluator.evaluate(when)
        states = [a.state for a in await _alerts(store)]
        expected = {0: ["pending"], 10: ["pending"], 20: ["firing"], 30: ["resolved"]}[offset]
        assert states == expected, offset
    assert [d.event for d in await _deliveries(store)] == ["firing", "resolved"]


async def test_silences_and_maintenance_hold_notifications_back(
    store: Store, tmp_path: Path
) -> None:
    e = await engine(store, tmp_path, builtin=True)
    await add_channel(store, "good", "json://good")
    async with store.transaction() as session:
        until = T0 + timedelta(hours=1)
        matchers = ["node=~n[12]", "rule=node-unreachable"]
        session.add(AlertSilence(matchers=matchers, starts_at=T0, ends_at=until, created_by="o"))
        session.add(
            MaintenanceWindow(environment="lab", starts_at=T0, ends_at=until, created_by="o")
        )
    for env, node in (("prod", "n1"), ("prod", "n3"), ("lab", "n9")):
        await _unreachable(e, env, node)
    await e.evaluator.evaluate(T0)
    assert await e.evaluator.evaluate(T0 + timedelta(minutes=1)) == 1  # only prod/n3
    held = {a.labels["node"]: a.suppressed for a in await _alerts(store)}
    assert held["n3"] is None and held["n9"] == "maintenance:lab"
    assert str(held["n1"]).startswith("silence:")
    # After both end, what still fires is sent (n3's is due for a repeat by then).
    assert await e.evaluator.evaluate(T0 + timedelta(hours=1, minutes=1)) == 3
    events = sorted(d.event for d in await _deliveries(store))
    assert events == ["firing", "firing", "firing", "repeat"]


async def test_rule_scope_by_tag_and_channel_by_severity(store: Store, tmp_path: Path) -> None:
    e = await engine(store, tmp_path)
    await add_rule(store, name="eu-down", condition="node_unreachable", tags=["eu"],
                   severity="info")  # fmt: skip
    await add_channel(store, "good", "json://good")
    await add_channel(store, "pager", "json://pager", min_severity="critical")
    await _unreachable(e, "prod", "n1")  # prod is tagged eu
    await _unreachable(e, "lab", "n2")
    assert await e.evaluator.evaluate(T0) == 1
    [delivery] = await _deliveries(store)
    assert delivery.channel == "good" and "in prod" in delivery.title


async def test_a_crash_between_passes_sends_nothing_twice(store: Store, tmp_path: Path) -> None:
    e = await engine(store, tmp_path, builtin=True)
    await add_channel(store, "good", "json://good")
    await _unreachable(e, "prod", "n1")
    await e.evaluator.evaluate(T0 - HELD)
    await e.evaluator.evaluate(T0)
    again = await engine(store, tmp_path)  # a restarted server: same store, fresh memory
    await _unreachable(again, "prod", "n1")
    assert await again.evaluator.evaluate(T0 + timedelta(seconds=20)) == 0
    assert len(await _deliveries(store)) == 1


async def test_report_event_fires_and_resolves_and_never_raises(
    store: Store, tmp_path: Path
) -> None:
    e = await engine(store, tmp_path, builtin=True)
    await add_channel(store, "good", "json://good")
    service = AlertService(e.evaluator, e.worker)
    labels = {"environment": "prod", "stack": "shop"}
    await service.report_event("stack_deploy_failed", labels, "image not found")
    await service.report_event("stack_deploy_failed", labels, "image still not found")
    await e.evaluator.evaluate(T0)
    [alert] = await _alerts(store)
    assert (alert.rule, alert.state, alert.summary) == (
        "stack-deploy-failed",
        "firing",
        "image still not found",
    )
    await service.report_event("stack_deploy_failed", labels, "deployed", resolved=True)
    await e.evaluator.evaluate(T0 + timedelta(seconds=5))
    assert [d.event for d in await _deliveries(store)] == ["firing", "resolved"]
    await service.report_event("no_such_kind", {"x": "y"}, "ignored")  # nothing, no error
    await store.close()
    await service.report_event("stack_deploy_failed", labels, "store closed: logged only")


async def test_a_failing_and_a_hanging_channel_do_not_hold_back_a_good_one(
    store: Store, tmp_path: Path
) -> None:
    policy = DeliveryPolicy(attempts=3, backoff_s=0.05, timeout_s=0.5)
    e = await engine(store, tmp_path, builtin=True, policy=policy)
    for name in ("bad", "slow", "good"):
        url = {"bad": "json://fail", "slow": "json://hang", "good": "json://good"}[name]
        await add_channel(store, name, url)
    await _unreachable(e, "prod", "n1")
    await e.evaluator.evaluate(T0 - HELD)
    assert await e.evaluator.evaluate(T0) == 3
    e.worker.start()
    try:
        async with asyncio.timeout(30):
            while True:
                rows = {d.channel: d for d in await _deliveries(store)}
                if rows["good"].status == "sent" and all(
                    r.status == "failed" for n, r in rows.items() if n != "good"
                ):
                    break
                await asyncio.sleep(0.05)
    finally:
        await e.worker.stop()
    assert rows["bad"].attempts == 3 and rows["bad"].last_error == "connection refused"
    assert rows["slow"].attempts == 3 and "no answer" in str(rows["slow"].last_error)
    assert rows["good"].attempts == 1
    # The good channel was served before the slow one's first attempt timed out.
    assert e.notifier.sent and e.notifier.sent[0][0] == "json://good"


async def test_a_hanging_channel_s_backlog_does_not_starve_another_channel(
    store: Store, tmp_path: Path
) -> None:
    # The slow channel's send never ends within the test (timeout far away), so the good
    # channel's delivery can only happen beside it, never after it.
    policy = DeliveryPolicy(attempts=1, backoff_s=0.05, timeout_s=3600)
    e = await engine(store, tmp_path, policy=policy)
    await add_channel(store, "slow", "json://hang")
    await add_channel(store, "good", "json://good")
    async with store.transaction() as session:
        for i in range(BATCH + 10):  # older than the good channel's row: first in line
            session.add(_delivery("slow", T0 + timedelta(seconds=i)))
        session.add(_delivery("good", T0 + timedelta(minutes=5)))
    e.worker.start()
    try:
        async with asyncio.timeout(120):  # a bound for a broken worker, not a timing check
            while not e.notifier.sent or "json://hang" not in e.notifier.attempts:
                await asyncio.sleep(0.05)
    finally:
        await e.worker.stop()
    assert e.notifier.sent[0][0] == "json://good"
    assert e.notifier.attempts.count("json://hang") == 1  # one send in flight per channel


def _delivery(channel: str, created: datetime) -> AlertDelivery:
    return AlertDelivery(
        channel=channel, event="firing", rule="r", alert_ids=[], title="t", body="b",
        severity="warning", status="pending", next_attempt_at=created, created_at=created,
    )  # fmt: skip
