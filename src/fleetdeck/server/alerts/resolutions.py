"""What a resolved alert says: the state of its target now, not the figure that fired it.

A firing alert's summary is its condition's text at the last pass it held ("cpu_cores of
prod/n2 is 0.91 cores (> 0.8)"). Left as it was, a RESOLVED notification would repeat that
figure and read as if the condition still held. :func:`resolution` writes the text the
alert resolves with, from the same :class:`~fleetdeck.server.alerts.conditions.FleetView`
the evaluator decided on, in the words the firing summary used: the value now and, for a
metric, the value it fired at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.durations import format_duration
from fleetdeck.server.alerts import rules as r
from fleetdeck.server.alerts.conditions import figure
from fleetdeck.server.metrics.catalog import CONTAINER, METRICS

if TYPE_CHECKING:
    from fleetdeck.server.alerts.conditions import FleetView
    from fleetdeck.server.store.models_alerts import Alert, AlertRule


def _where(labels: dict[str, str]) -> str:
    where = f"{labels.get('environment', '')}/{labels.get('node', '')}"
    if "container" in labels:
        where += f"/{labels['container']}"
    if labels.get("instance"):
        where += f" {labels['instance']}"
    return where


def _metric_now(rule: AlertRule, labels: dict[str, str], view: FleetView) -> float | None:
    rows = view.figures.fresh_rows(labels.get("environment", ""), labels.get("node", ""), view.now)
    for kind, _target_id, name, metric, instance, value in rows:
        if kind != rule.target or metric != rule.metric:
            continue
        if kind == CONTAINER and name != labels.get("container"):
            continue
        if instance == labels.get("instance", ""):
            return value
    return None


def _metric(rule: AlertRule, alert: Alert, labels: dict[str, str], view: FleetView) -> str:
    unit = METRICS[rule.metric].unit if rule.metric in METRICS else ""
    threshold = rule.threshold if rule.threshold is not None else 0.0
    was = f"was {figure(alert.value, unit)}, " if alert.value is not None else ""
    now = _metric_now(rule, labels, view)
    told = f"now {figure(now, unit)}" if now is not None else "no recent figure"
    return f"{rule.metric} of {_where(labels)}: {told} ({was}{rule.operator} {threshold:g})"


def _node(labels: dict[str, str], view: FleetView) -> str:
    key = (labels.get("environment"), labels.get("node"))
    state = next((s for s in view.nodes if (s.environment, s.node) == key), None)
    where = _where(labels)
    if state is None:
        return f"node {where} is no longer in the fleet"
    return f"node {where} is {state.status.value.replace('_', ' ')} now"


def _container(rule: AlertRule, labels: dict[str, str], view: FleetView) -> str:
    name = labels.get("container", "")
    found = next(
        (
            c
            for state, c in view.containers.values()
            if (state.environment, state.node, c.name)
            == (labels.get("environment"), labels.get("node"), name)
        ),
        None,
    )
    if found is None:
        return f"container {name} on {_where(labels)} is gone"
    if rule.condition == r.RESTART_LOOP:
        window = rule.window_s or 600.0
        count = view.restarts.restarts_within(found.id, window, view.now)
        return f"container {name} restarted {count} times in {format_duration(window)} now"
    if rule.condition == r.CONTAINER_UNHEALTHY and found.health:
        return f"container {name} is {found.health} now"
    return f"container {name} is {found.state} now"


def resolution(rule: AlertRule, alert: Alert, view: FleetView) -> str:
    """The summary ``alert`` of ``rule`` resolves with, as the fleet is in ``view``."""
    labels = {str(k): str(v) for k, v in (alert.labels or {}).items()}
    if not rule.enabled:
        return f"rule {rule.name} was disabled; last: {alert.summary}"
    if rule.condition == r.METRIC:
        return _metric(rule, alert, labels, view)
    if rule.condition in r.NODE_CONDITIONS:
        return _node(labels, view)
    if rule.condition in r.CONTAINER_CONDITIONS:
        return _container(rule, labels, view)
    return alert.summary
