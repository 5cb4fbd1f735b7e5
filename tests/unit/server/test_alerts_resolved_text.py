"""What RESOLVED notifications say: the target's state now, not the figure that fired it.

The evaluator runs on a :class:`FrozenClock` (no ``now`` passed in): every pass, the figures'
freshness and the event service read the same present, moved by the test.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from fleetdeck.clock import FrozenClock
from fleetdeck.server.alerts.conditions import figure
from fleetdeck.server.alerts.service import AlertService
from fleetdeck.server.stacks import resolved_text
from fleetdeck.server.store.models_alerts import Alert, AlertDelivery, AlertRule

from .alerts_helpers import T0, add_channel, add_rule, container, engine, snapshot

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.server.store import Store

    from .alerts_helpers import Engine


async def _sent(store: Store, event: str) -> list[AlertDelivery]:
    async with store.session() as session:
        rows = await session.scalars(select(AlertDelivery).where(AlertDelivery.event == event))
        return list(rows.all())


def _cpu(e: Engine, clock: FrozenClock, percent: float) -> None:
    message = {"time": clock.now().isoformat(), "host": {"cpu_percent": percent}}
    assert e.evaluator.figures.offer("prod", "n1", message)


async def _cpu_rule(store: Store, tmp_path: Path) -> tuple[Engine, FrozenClock]:
    """An engine on a frozen clock with a host CPU rule (> 80 %, no ``for``) and node prod/n1."""
    clock = FrozenClock(T0)
    e = await engine(store, tmp_path, clock=clock)
    await add_rule(store, name="cpu-hot", metric="cpu_percent", target="host", operator=">",
                   threshold=80, **{"for": "0s"})  # fmt: skip
    await add_channel(store, "good", "json://good")
    snapshot(e.inventory, "prod", "n1", [])
    return e, clock


def test_figure_writes_percent_glued_and_other_units_apart() -> None:
    assert figure(12.04, "%") == "12%"
    assert figure(0.0523, "cores") == "0.0523 cores"
    assert figure(3.0, "") == "3"


async def test_a_resolved_metric_alert_says_the_value_now_and_what_it_fired_at(
    store: Store, tmp_path: Path
) -> None:
    e, clock = await _cpu_rule(store, tmp_path)
    _cpu(e, clock, 91.2)
    assert await e.evaluator.evaluate() == 1
    [firing] = await _sent(store, "firing")
    assert "cpu_percent of prod/n1 is 91.2% (> 80)" in firing.body
    clock.advance(10)
    _cpu(e, clock, 12.04)
    assert await e.evaluator.evaluate() == 1
    [resolved] = await _sent(store, "resolved")
    assert resolved.title.startswith("[RESOLVED] cpu-hot in prod")
    assert "cpu_percent of prod/n1: now 12% (was 91.2%, > 80)" in resolved.body
    async with store.session() as session:
        alert = (await session.scalars(select(Alert))).one()
    assert alert.state == "resolved" and alert.value == pytest.approx(91.2)


async def test_a_metric_alert_resolved_by_a_deleted_rule_says_so(
    store: Store, tmp_path: Path
) -> None:
    e, clock = await _cpu_rule(store, tmp_path)
    _cpu(e, clock, 95.0)
    await e.evaluator.evaluate()
    async with store.transaction() as session:
        await session.delete((await session.scalars(select(AlertRule))).one())
    clock.advance(5)
    await e.evaluator.evaluate()
    [resolved] = await _sent(store, "resolved")
    assert "rule cpu-hot was deleted; last: cpu_percent of prod/n1 is 95%" in resolved.body


async def test_a_metric_alert_of_a_silent_node_says_there_is_no_recent_figure(
    store: Store, tmp_path: Path
) -> None:
    e, clock = await _cpu_rule(store, tmp_path)
    _cpu(e, clock, 99.0)
    await e.evaluator.evaluate()
    clock.advance(timedelta(minutes=5))  # the figure goes stale: the condition cannot hold
    await e.evaluator.evaluate()
    [resolved] = await _sent(store, "resolved")
    assert "cpu_percent of prod/n1: no recent figure (was 99%, > 80)" in resolved.body


async def test_node_and_container_alerts_resolve_with_their_state_now(
    store: Store, tmp_path: Path
) -> None:
    clock = FrozenClock(T0)
    e = await engine(store, tmp_path, clock=clock)
    await add_rule(store, name="down", condition="node_unreachable", **{"for": "0s"})
    await add_rule(store, name="crashed", condition="container_exited")
    await add_channel(store, "good", "json://good")
    exited = {"state": "exited", "status": "Exited (3) 1 second ago"}
    snapshot(e.inventory, "prod", "n1", [container("a1", "web", **exited)])
    snapshot(e.inventory, "prod", "n2", [])
    e.inventory.mark_unreachable("prod", "n2", "no heartbeat for 10s")
    assert await e.evaluator.evaluate() == 2
    clock.advance(10)
    snapshot(e.inventory, "prod", "n1", [container("a1", "web")])  # running again
    snapshot(e.inventory, "prod", "n2", [])  # answers again
    assert await e.evaluator.evaluate() == 2
    bodies = {d.rule: d.body for d in await _sent(store, "resolved")}
    assert bodies["crashed"].startswith("- container web is running now")
    assert bodies["down"].startswith("- node prod/n2 is up now")


async def test_a_resolved_deploy_alert_names_the_deploy_that_resolved_it(
    store: Store, tmp_path: Path
) -> None:
    clock = FrozenClock(T0)
    e = await engine(store, tmp_path, builtin=True, clock=clock)
    await add_channel(store, "good", "json://good")
    service = AlertService(e.evaluator, e.worker)
    labels = {"environment": "prod", "stack": "shop"}
    await service.report_event("stack_deploy_failed", labels, "deploy of shop failed: no image")
    await e.evaluator.evaluate()
    clock.advance(60)
    text = resolved_text("shop", 7, "converged and healthy")
    await service.report_event("stack_deploy_failed", labels, text, resolved=True)
    await e.evaluator.evaluate()
    [resolved] = await _sent(store, "resolved")
    assert resolved.body.startswith(
        "- resolved by a successful deploy of shop, revision 7: converged and healthy"
    )
    async with store.session() as session:
        alert = (await session.scalars(select(Alert))).one()
    assert alert.resolved_at is not None
    assert alert.resolved_at.replace(tzinfo=clock.now().tzinfo) == clock.now()
