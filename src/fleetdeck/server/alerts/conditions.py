"""Which targets a rule's condition holds for right now: the evaluator's pure part.

:func:`candidates` takes one rule and a :class:`FleetView` (the inventory's nodes, the
environments' tags, the latest figures and restart history, and the time) and returns a
:class:`Candidate` per target the condition holds for. The fingerprint of a candidate (rule
plus identifying labels) is what makes alerts deduplicate: one alert per fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.durations import format_duration
from fleetdeck.server.alerts import rules as r
from fleetdeck.server.metrics.catalog import CONTAINER, HOST, METRICS

if TYPE_CHECKING:
    from fleetdeck.server.alerts.figures import LatestFigures, RestartHistory
    from fleetdeck.server.fleet.inventory import NodeState
    from fleetdeck.server.store.models_alerts import AlertRule
    from fleetdeck.wire.containers import EngineContainer

#: Exit codes a container is left with when someone stopped it on purpose: 0 (clean exit),
#: 143 (SIGTERM from ``docker stop``) and 137 (SIGKILL after the stop timeout, ``docker kill``).
STOPPED_EXIT_CODES = frozenset({0, 137, 143})
_EXIT_RE = re.compile(r"^Exited \((-?\d+)\)")


@dataclass(frozen=True)
class Candidate:
    """A target a rule's condition holds for, at this evaluation."""

    fingerprint: str
    labels: dict[str, str]
    summary: str
    value: float | None = None


@dataclass
class FleetView:
    """Everything a condition may look at, taken at one instant."""

    nodes: list[NodeState]
    env_tags: dict[str, list[str]]
    figures: LatestFigures
    restarts: RestartHistory
    now: float
    containers: dict[str, tuple[NodeState, EngineContainer]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for state in self.nodes:
            for c in state.containers.values():
                self.containers[c.id] = (state, c)


def figure(value: float, unit: str) -> str:
    """A metric's value as notifications write it: ``91.2%``, ``0.05 cores``, ``3``."""
    gap = " " if unit and unit != "%" else ""
    return f"{value:.3g}{gap}{unit}"


def fingerprint(rule: str, labels: dict[str, str]) -> str:
    """The identity of an alert: its rule and its labels (stable across restarts)."""
    text = json.dumps([rule, sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _env_in_scope(rule: AlertRule, environment: str, view: FleetView) -> bool:
    scope = rule.scope or {}
    envs, tags = scope.get("environments") or [], scope.get("tags") or []
    if envs and environment not in envs:
        return False
    return not tags or bool(set(tags) & set(view.env_tags.get(environment, [])))


def container_in_scope(rule: AlertRule, c: EngineContainer) -> bool:
    """Whether the rule's stacks and labels scope takes in container ``c``."""
    scope = rule.scope or {}
    stacks = scope.get("stacks") or []
    if stacks and c.stack not in stacks:
        return False
    for matcher in scope.get("labels") or []:
        key, sep, value = str(matcher).partition("=")
        if key not in c.labels or (sep and c.labels[key] != value):
            return False
    return True


def labels_in_scope(rule: AlertRule, labels: dict[str, str], view: FleetView) -> bool:
    """Whether an event's labels fall in the rule's scope (for ``report_event``)."""
    if not _env_in_scope(rule, labels.get("environment", ""), view):
        return False
    scope = rule.scope or {}
    stacks = scope.get("stacks") or []
    if stacks and labels.get("stack") not in stacks:
        return False
    for matcher in scope.get("labels") or []:
        key, sep, value = str(matcher).partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _candidate(
    rule: AlertRule, labels: dict[str, str], summary: str, value: Any = None
) -> Candidate:
    return Candidate(fingerprint(rule.name, labels), labels, summary, value)


def container_labels(state: NodeState, c: EngineContainer) -> dict[str, str]:
    """An alert's labels for a container: where it runs, its stack and service."""
    labels = {"environment": state.environment, "node": state.node, "container": c.name}
    if c.stack:
        labels["stack"] = c.stack
    if c.service:
        labels["service"] = c.service
    return labels


def exit_code(c: EngineContainer) -> int | None:
    """The exit code in Docker's status text (``Exited (1) 5 seconds ago``), if any."""
    match = _EXIT_RE.match(c.status or "")
    return int(match.group(1)) if match else None


def _node_candidates(rule: AlertRule, view: FleetView) -> list[Candidate]:
    wanted = "unreachable" if rule.condition == r.NODE_UNREACHABLE else "engine_down"
    out = []
    for state in view.nodes:
        if state.status.value != wanted or not _env_in_scope(rule, state.environment, view):
            continue
        labels = {"environment": state.environment, "node": state.node}
        what = "does not answer" if wanted == "unreachable" else "has its Docker engine down"
        detail = f": {state.error}" if state.error else ""
        out.append(
            _candidate(rule, labels, f"node {state.environment}/{state.node} {what}{detail}")
        )
    return out


def _container_holds(rule: AlertRule, c: EngineContainer, view: FleetView) -> tuple[bool, str, Any]:
    if rule.condition == r.CONTAINER_EXITED:
        code = exit_code(c) if c.state == "exited" else None
        held = code is not None and code not in STOPPED_EXIT_CODES
        return held, f"container {c.name} exited with code {code}", code
    if rule.condition == r.CONTAINER_UNHEALTHY:
        return c.health == "unhealthy", f"container {c.name} is unhealthy", None
    window = rule.window_s or 600.0
    count = view.restarts.restarts_within(c.id, window, view.now)
    limit = rule.threshold or 1
    text = f"container {c.name} restarted {count} times in {format_duration(window)}"
    return count >= limit, text, count


def _container_candidates(rule: AlertRule, view: FleetView) -> list[Candidate]:
    out = []
    for state, c in view.containers.values():
        if not _env_in_scope(rule, state.environment, view) or not container_in_scope(rule, c):
            continue
        held, summary, value = _container_holds(rule, c, view)
        if held:
            labels = container_labels(state, c)
            out.append(_candidate(rule, labels, summary, value))
    return out


def _metric_candidates(rule: AlertRule, view: FleetView) -> list[Candidate]:
    compare = r.OPERATORS[rule.operator or ">"]
    threshold = rule.threshold if rule.threshold is not None else 0.0
    unit = METRICS[rule.metric].unit if rule.metric in METRICS else ""
    out = []
    for state in view.nodes:
        if not _env_in_scope(rule, state.environment, view):
            continue
        for kind, target_id, name, metric, instance, value in view.figures.fresh_rows(
            state.environment, state.node, view.now
        ):
            if kind != rule.target or metric != rule.metric:
                continue
            if rule.instance is not None and instance != rule.instance:
                continue
            if not compare(value, threshold):
                continue
            labels = {"environment": state.environment, "node": state.node}
            where = f"{state.environment}/{state.node}"
            if kind == CONTAINER:
                found = view.containers.get(target_id)
                if found is None or not container_in_scope(rule, found[1]):
                    continue
                labels = container_labels(*found)
                where += f"/{name}"
            if instance:
                labels["instance"] = instance
                where += f" {instance}"
            held = f"({rule.operator} {threshold:g})"
            summary = f"{metric} of {where} is {figure(value, unit)} {held}"
            out.append(_candidate(rule, labels, summary, value))
    return out


def candidates(rule: AlertRule, view: FleetView) -> list[Candidate]:
    """Every target ``rule``'s condition holds for now (events: none, they are reported)."""
    if rule.condition in r.NODE_CONDITIONS:
        return _node_candidates(rule, view)
    if rule.condition in r.CONTAINER_CONDITIONS:
        return _container_candidates(rule, view)
    if rule.condition == r.METRIC and rule.target in (HOST, CONTAINER):
        return _metric_candidates(rule, view)
    return []
