"""Alert rules: what a rule is, how it is checked, and the built-in rules on by default.

A rule has a *condition*: ``metric`` (a metric of :mod:`~fleetdeck.server.metrics.catalog`
compared with a threshold) or one of the built-in conditions below. It has a ``for``
duration (the condition must hold that long before the alert fires), a severity, a scope
(environments, environment tags, stacks, container labels) and optionally the channels it
notifies (none listed: every channel). Everything is checked before anything is stored:
a bad rule is an :class:`~fleetdeck.errors.InvalidInputError` that names the field.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field

from fleetdeck.durations import format_duration, parse_seconds
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.metrics.catalog import CONTAINER, HOST, METRICS
from fleetdeck.wire.alerts import Rule
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.store.models_alerts import AlertRule

METRIC = "metric"
NODE_UNREACHABLE = "node_unreachable"
ENGINE_DOWN = "engine_down"
CONTAINER_EXITED = "container_exited"
RESTART_LOOP = "restart_loop"
CONTAINER_UNHEALTHY = "container_unhealthy"
STACK_DEPLOY_FAILED = "stack_deploy_failed"
BACKUP_FAILED = "backup_failed"
#: The healer stopped restarting a container (docs/healing.md).
CONTAINER_CRASH_LOOPING = "container_crash_looping"
#: Swarm keeps replacing a service's failing tasks (docs/healing.md).
SERVICE_CRASH_LOOPING = "service_crash_looping"
#: An autoscaling policy's Prometheus query cannot be read: its replicas are kept
#: (docs/scaling.md).
AUTOSCALE_METRIC_UNAVAILABLE = "autoscale_metric_unavailable"
#: A stack service's tag points at a newer digest than it runs (docs/updates.md).
IMAGE_UPDATE_AVAILABLE = "image_update_available"
#: An automatic image update was undone (docs/updates.md).
IMAGE_UPDATE_FAILED = "image_update_failed"
#: A managed stack differs from its deployed revision (docs/stacks.md, "Drift").
STACK_DRIFT = "stack_drift"
#: A stack's sync from Git failed (docs/gitops.md).
GITOPS_SYNC_FAILED = "gitops_sync_failed"

#: Conditions about nodes (host-level scope only).
NODE_CONDITIONS = (NODE_UNREACHABLE, ENGINE_DOWN)
#: Conditions about containers.
CONTAINER_CONDITIONS = (CONTAINER_EXITED, RESTART_LOOP, CONTAINER_UNHEALTHY)
#: Conditions raised by other parts of the server through ``report_event`` (not evaluated).
EVENT_CONDITIONS = (
    STACK_DEPLOY_FAILED,
    BACKUP_FAILED,
    CONTAINER_CRASH_LOOPING,
    SERVICE_CRASH_LOOPING,
    AUTOSCALE_METRIC_UNAVAILABLE,
    IMAGE_UPDATE_AVAILABLE,
    IMAGE_UPDATE_FAILED,
    STACK_DRIFT,
    GITOPS_SYNC_FAILED,
)
CONDITIONS = (METRIC, *NODE_CONDITIONS, *CONTAINER_CONDITIONS, *EVENT_CONDITIONS)

OPERATORS: dict[str, Any] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
SEVERITIES = ("info", "warning", "critical")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
LABEL_RE = re.compile(r"^[A-Za-z0-9_.\-/:]+(=.*)?$")


class RuleSpec(RequestBody):
    """A rule as a user writes it (``POST /rules``); durations as seconds or ``5m``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=2000)
    condition: str = METRIC
    metric: str | None = None
    target: str | None = None
    operator: str | None = None
    threshold: float | None = None
    instance: str | None = Field(default=None, max_length=255)
    window: str | float | None = None
    for_: str | float = Field(default=0, alias="for")
    severity: str = "warning"
    environments: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    stacks: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    repeat: str | float | None = None
    enabled: bool = True


def _check_metric(spec: RuleSpec) -> str:
    """The metric part of a rule; returns its target kind."""
    if spec.metric is None:
        raise InvalidInputError("a metric rule needs a metric", hint="e.g. cpu_percent")
    info = METRICS.get(spec.metric)
    if info is None:
        raise InvalidInputError(
            f"unknown metric {spec.metric!r}", hint="list them with GET /api/v1/metrics/names"
        )
    target = spec.target
    if target is None:
        if len(info.kinds) > 1:
            raise InvalidInputError(
                f"metric {spec.metric!r} exists for hosts and containers: set target",
                hint="target: host or container",
            )
        target = info.kinds[0]
    if target not in (HOST, CONTAINER):
        raise InvalidInputError(f"bad target {target!r}", hint="host or container")
    if target not in info.kinds:
        raise InvalidInputError(f"metric {spec.metric!r} is not kept for a {target}")
    if spec.operator not in OPERATORS:
        raise InvalidInputError(
            f"bad operator {spec.operator!r}", hint=f"one of {' '.join(OPERATORS)}"
        )
    if spec.threshold is None:
        raise InvalidInputError("a metric rule needs a threshold")
    return target


def _check_scope(spec: RuleSpec, kind: str, environments: set[str]) -> None:
    for env in spec.environments:
        if env not in environments:
            raise InvalidInputError(
                f"unknown environment {env!r} in the rule's scope",
                hint="list them with: fleetdeck env ls",
            )
    for label in spec.labels:
        if not label or not LABEL_RE.match(label):
            raise InvalidInputError(f"bad label matcher {label!r}", hint="use KEY or KEY=VALUE")
    if kind == HOST and (spec.stacks or spec.labels):
        raise InvalidInputError(
            "stacks and labels scope container rules only",
            hint="scope a host or node rule by environments or tags",
        )


def _kind_of(spec: RuleSpec) -> str:
    if spec.condition == METRIC:
        return _check_metric(spec)
    if spec.condition in NODE_CONDITIONS:
        return HOST
    return CONTAINER


def validate_rule(spec: RuleSpec, environments: set[str], channels: set[str]) -> dict[str, Any]:
    """Check ``spec`` whole and return the column values of its row.

    Raises:
        InvalidInputError: Naming the first thing wrong.
    """
    if not NAME_RE.match(spec.name):
        raise InvalidInputError(
            f"invalid rule name {spec.name!r}", hint="lower-case letters, digits, _ . -"
        )
    if spec.condition not in CONDITIONS:
        raise InvalidInputError(
            f"unknown condition {spec.condition!r}", hint=f"one of {', '.join(CONDITIONS)}"
        )
    if spec.severity not in SEVERITIES:
        raise InvalidInputError(
            f"bad severity {spec.severity!r}", hint=f"one of {', '.join(SEVERITIES)}"
        )
    kind = _kind_of(spec)
    window = parse_seconds(spec.window, "window")
    if spec.condition == RESTART_LOOP:
        if spec.threshold is None or spec.threshold < 1:
            raise InvalidInputError("a restart loop rule needs threshold (restarts) ≥ 1")
        if not window:
            raise InvalidInputError("a restart loop rule needs a window (e.g. 10m)")
    _check_scope(spec, kind, environments)
    for name in spec.channels:
        if name not in channels:
            raise InvalidInputError(
                f"unknown channel {name!r}", hint="list them with: fleetdeck channels ls"
            )
    repeat = parse_seconds(spec.repeat, "repeat")
    if repeat is not None and repeat < 60:
        raise InvalidInputError("repeat must be at least 1 minute")
    metric_rule = spec.condition == METRIC
    return {
        "name": spec.name,
        "description": spec.description,
        "condition": spec.condition,
        "metric": spec.metric if metric_rule else None,
        "target": kind if metric_rule else None,
        "operator": spec.operator if metric_rule else None,
        "threshold": spec.threshold if spec.condition in (METRIC, RESTART_LOOP) else None,
        "instance": spec.instance if metric_rule else None,
        "window_s": window if spec.condition == RESTART_LOOP else None,
        "for_s": parse_seconds(spec.for_, "for") or 0.0,
        "severity": spec.severity,
        "scope": {
            "environments": sorted(set(spec.environments)),
            "tags": sorted(set(spec.tags)),
            "stacks": sorted(set(spec.stacks)),
            "labels": sorted(set(spec.labels)),
        },
        "channels": sorted(set(spec.channels)),
        "repeat_s": repeat,
        "enabled": spec.enabled,
    }


def rule_out(row: AlertRule) -> Rule:
    """The API view of a stored rule."""
    scope = row.scope or {}
    return Rule.model_validate(
        {
            "name": row.name,
            "description": row.description,
            "condition": row.condition,
            "metric": row.metric,
            "target": row.target,
            "operator": row.operator,
            "threshold": row.threshold,
            "instance": row.instance,
            "window": row.window_s,
            "for": row.for_s,
            "severity": row.severity,
            "environments": list(scope.get("environments", [])),
            "tags": list(scope.get("tags", [])),
            "stacks": list(scope.get("stacks", [])),
            "labels": list(scope.get("labels", [])),
            "channels": list(row.channels or []),
            "repeat": row.repeat_s,
            "enabled": row.enabled,
            "builtin": row.builtin,
        }
    )


def spec_of(row: AlertRule) -> RuleSpec:
    """The spec a stored rule was made from (the base an update is applied to)."""
    out = rule_out(row)
    data = out.model_dump(by_alias=True, exclude={"builtin"})
    return RuleSpec.model_validate(data)


def builtin_rules(settings: ServerSettings) -> list[RuleSpec]:
    """The rules every server starts with (on by default; editable, not deletable)."""
    held = settings.alerts_threshold_for_minutes * 60
    text = {
        NODE_UNREACHABLE: "A node's agent does not answer (down, partitioned, agent stopped).",
        ENGINE_DOWN: "A node's agent answers but its Docker engine does not.",
        CONTAINER_EXITED: "A container exited with a non-zero code it was not stopped with.",
        RESTART_LOOP: "A container keeps restarting.",
        CONTAINER_UNHEALTHY: "A container's health check fails.",
        STACK_DEPLOY_FAILED: "A stack deployment failed.",
        BACKUP_FAILED: "A server backup (or its retention) failed.",
        CONTAINER_CRASH_LOOPING: "Auto-heal restarted a container again and again: it gave up.",
        SERVICE_CRASH_LOOPING: "Swarm keeps replacing a service's failing tasks.",
        AUTOSCALE_METRIC_UNAVAILABLE: (
            "An autoscaling policy's Prometheus query cannot be read: its replicas are kept."
        ),
        IMAGE_UPDATE_AVAILABLE: "A stack service's image tag points at a newer digest.",
        IMAGE_UPDATE_FAILED: "An automatic image update failed its health gate and was undone.",
        STACK_DRIFT: "A managed stack differs from its deployed revision (changed by hand).",
        GITOPS_SYNC_FAILED: "A stack's sync from Git failed (repository, ref or Compose).",
    }
    specs = [
        # 30 s: a link that drops and reconnects (a server or agent restart) pages nobody.
        RuleSpec.model_validate(
            {
                "name": "node-unreachable",
                "condition": NODE_UNREACHABLE,
                "severity": "critical",
                "for": 30,
            }
        ),
        RuleSpec.model_validate(
            {"name": "engine-down", "condition": ENGINE_DOWN, "severity": "critical", "for": 30}
        ),
        RuleSpec.model_validate(
            {"name": "container-exited", "condition": CONTAINER_EXITED, "for": 30}
        ),
        RuleSpec(
            name="restart-loop",
            condition=RESTART_LOOP,
            severity="warning",
            threshold=settings.alerts_restart_loop_count,
            window=settings.alerts_restart_loop_minutes * 60,
        ),
        RuleSpec.model_validate(
            {"name": "container-unhealthy", "condition": CONTAINER_UNHEALTHY, "for": 30}
        ),
        RuleSpec(name="stack-deploy-failed", condition=STACK_DEPLOY_FAILED, severity="critical"),
        RuleSpec(name="backup-failed", condition=BACKUP_FAILED, severity="critical"),
        RuleSpec(
            name="container-crash-looping", condition=CONTAINER_CRASH_LOOPING, severity="critical"
        ),
        RuleSpec(
            name="service-crash-looping", condition=SERVICE_CRASH_LOOPING, severity="critical"
        ),
        RuleSpec(
            name="autoscale-metric-unavailable",
            condition=AUTOSCALE_METRIC_UNAVAILABLE,
            severity="warning",
        ),
        RuleSpec(name="image-update-available", condition=IMAGE_UPDATE_AVAILABLE, severity="info"),
        RuleSpec(name="image-update-failed", condition=IMAGE_UPDATE_FAILED, severity="warning"),
        RuleSpec(name="stack-drift", condition=STACK_DRIFT, severity="warning"),
        RuleSpec(name="gitops-sync-failed", condition=GITOPS_SYNC_FAILED, severity="warning"),
    ]
    for spec in specs:
        spec.description = text[spec.condition]
    for name, metric, threshold, what in (
        ("host-cpu-high", "cpu_percent", settings.alerts_cpu_percent, "Host CPU"),
        ("host-memory-high", "memory_percent", settings.alerts_memory_percent, "Host memory"),
        ("host-disk-high", "fs_used_percent", settings.alerts_disk_percent, "Filesystem space"),
    ):
        specs.append(
            RuleSpec.model_validate(
                {
                    "name": name,
                    "description": f"{what} above {threshold:g}% for {format_duration(held)}.",
                    "metric": metric,
                    "target": HOST,
                    "operator": ">",
                    "threshold": threshold,
                    "for": held,
                }
            )
        )
    return specs
