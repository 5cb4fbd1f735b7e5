"""The update, rollback and restart settings every Swarm service gets, set explicitly.

Swarm, Compose and docker-py disagree on defaults (docker-py's UpdateConfig parallelism 0
means "all tasks at once"; Swarm's failure action is "pause", which leaves a half-updated
service for a human; Compose's documented order is stop-first, which drops capacity), so a
service deployed by fleetdeck never relies on any of them. Our choices, and why:

- ``parallelism`` 1: replace one task at a time, so at most one replica is missing or new.
- ``delay`` 0s: health gating, not a timer, paces the update.
- ``order`` start-first: a new task is running (and healthy, when it has a healthcheck)
  before the old one stops, so capacity never drops. A port published in host mode makes
  that impossible (two tasks cannot bind one port on a node, and with as many replicas as
  nodes the new task cannot be placed), so such services use stop-first.
- ``failure_action`` rollback: a failed update restores the previous spec by itself.
- ``monitor``: at least 5 s and at least long enough for the healthcheck to fail
  (start period + interval × retries + timeout), so an update that breaks health is caught
  before Swarm calls it done.
- ``max_failure_ratio`` 0: one failed task fails the update.
- rollback: the same parallelism, order and monitor, but ``failure_action`` pause (a rollback
  that fails itself is left for a human rather than looped).
- restart policy: condition any, delay 5 s, no attempt limit, window 0 (Swarm's own values,
  written out so a changed engine default cannot change a running stack).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.server.stacks.plan import Strategy

if TYPE_CHECKING:
    from fleetdeck.compose import Service
    from fleetdeck.compose.model_deploy import UpdateConfig

NS = 1_000_000_000
PARALLELISM = 1
DELAY_S = 0.0
MONITOR_MIN_S = 5.0
FAILURE_ACTION = "rollback"
ROLLBACK_FAILURE_ACTION = "pause"
MAX_FAILURE_RATIO = 0.0
RESTART_CONDITION = "any"
RESTART_DELAY_S = 5.0
#: Healthcheck values Docker uses when a healthcheck leaves them out (for the monitor window).
HEALTH_INTERVAL_S = 30.0
HEALTH_TIMEOUT_S = 30.0
HEALTH_RETRIES = 3


def nanos(seconds: float) -> int:
    """Seconds as the nanoseconds Swarm specs use."""
    return int(round(seconds * NS))


def host_mode_ports(service: Service) -> list[str]:
    """The published ports that will be bound on the node itself (host mode)."""
    return [p.published for p in service.ports if p.published and p.mode == "host"]


def monitor_seconds(service: Service) -> float:
    """How long Swarm watches each new task before it calls that step a success."""
    check = service.healthcheck
    if check is None or check.disable or (check.test or [""])[0] == "NONE":
        return MONITOR_MIN_S
    interval = check.interval if check.interval is not None else HEALTH_INTERVAL_S
    timeout = check.timeout if check.timeout is not None else HEALTH_TIMEOUT_S
    retries = check.retries if check.retries is not None else HEALTH_RETRIES
    start = check.start_period or 0.0
    return max(MONITOR_MIN_S, start + interval * retries + timeout)


def update_order(
    service: Service, strategy: Strategy, *, host_ports: bool
) -> tuple[str, str | None]:
    """The update order and, when the wish could not be honoured, a note saying why."""
    wanted = None
    if strategy is not Strategy.auto:
        wanted = strategy.value
    elif service.deploy and service.deploy.update_config and service.deploy.update_config.order:
        wanted = service.deploy.update_config.order
    if host_ports:
        note = None
        if wanted == "start-first":
            note = "start-first is impossible with a port published in host mode: stop-first"
        return "stop-first", note
    return wanted or "start-first", None


def update_config(
    given: UpdateConfig | None, *, order: str, monitor_s: float, rollback: bool
) -> dict[str, Any]:
    """A complete Swarm UpdateConfig/RollbackConfig: the file's values, ours for the rest."""
    failure = ROLLBACK_FAILURE_ACTION if rollback else FAILURE_ACTION
    if given is not None and given.failure_action:
        # A rollback cannot itself roll back: that wish means "stop and wait".
        rolls_back_a_rollback = rollback and given.failure_action == "rollback"
        failure = ROLLBACK_FAILURE_ACTION if rolls_back_a_rollback else given.failure_action
    return {
        "Parallelism": (
            given.parallelism if given and given.parallelism is not None else PARALLELISM
        ),
        "Delay": nanos(given.delay if given and given.delay is not None else DELAY_S),
        "FailureAction": failure,
        "Monitor": nanos(given.monitor if given and given.monitor is not None else monitor_s),
        "MaxFailureRatio": (
            given.max_failure_ratio
            if given and given.max_failure_ratio is not None
            else MAX_FAILURE_RATIO
        ),
        "Order": order,
    }


def restart_policy(service: Service) -> dict[str, Any]:
    """A complete RestartPolicy from ``deploy.restart_policy`` or the plain ``restart`` key."""
    condition, max_attempts = RESTART_CONDITION, 0
    if service.restart:
        if service.restart == "no":
            condition = "none"
        elif service.restart.startswith("on-failure"):
            condition = "on-failure"
            _, _, count = service.restart.partition(":")
            max_attempts = int(count) if count else 0
    delay, window = RESTART_DELAY_S, 0.0
    given = service.deploy.restart_policy if service.deploy else None
    if given is not None:
        condition = given.condition or condition
        delay = given.delay if given.delay is not None else delay
        max_attempts = given.max_attempts if given.max_attempts is not None else max_attempts
        window = given.window if given.window is not None else window
    return {
        "Condition": condition,
        "Delay": nanos(delay),
        "MaxAttempts": max_attempts,
        "Window": nanos(window),
    }
