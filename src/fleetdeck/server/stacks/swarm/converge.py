"""Waiting for a Swarm stack to converge, and telling a finished update from a rolled-back one.

After the specs are sent, Swarm does the rolling itself (one task at a time, start-first,
failure action rollback, see swarm_defaults). This module watches it through the manager's
agent: a service has converged when its update status (if any update started after we sent
ours) is ``completed`` and as many tasks as it wants run the current spec. Swarm keeps a task
with a healthcheck in ``starting`` until it is healthy, so "running" means healthy here. An
update status of ``rollback_completed`` or ``paused`` ends the wait with its message.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fleetdeck.server.stacks.plan import ProgressEvent, ServiceStatus
from fleetdeck.server.stacks.swarm.compare import replicas_of
from fleetdeck.server.stacks.swarm.spec import FINGERPRINT, STACK_IMAGE
from fleetdeck.server.stacks.swarm.stalls import (
    DOWN_NODE_GRACE_S,
    UNPLACEABLE_GRACE_S,
    StallClock,
    down_nodes,
    lingering,
    stuck_on_down_nodes,
    unplaceable,
)
from fleetdeck.server.stacks.swarm.stalls import docker_time as _time

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.server.fleet.links import AgentLink

POLL_S = 1.0
#: Failed tasks of a new service's current spec after which waiting longer is pointless.
FAILED_TASKS_LIMIT = 3
_ROLLING_BACK = "rollback_started"
_ROLLED_BACK = "rollback_completed"
_STUCK = {"paused", "rollback_paused"}


@dataclass
class Watch:
    """One service being waited for."""

    service: str
    full_name: str
    global_mode: bool = False
    done: bool = False
    rolled_back: bool = False
    #: A rollback we asked for (the rest of a stack whose update failed): it is the goal.
    expect_rollback: bool = False
    #: The labels naming the spec we sent (fingerprint, image); empty for a rollback.
    sent: tuple[str, str] = ("", "")
    failed: str = ""
    #: The update cannot succeed (no node can take a task): fleetdeck undoes it, with the stack.
    undo: bool = False
    last: str = ""
    cause: str = ""
    seen: set[str] = field(default_factory=set)
    stalls: StallClock = field(default_factory=StallClock)


def _update_state(service: dict[str, Any], since: datetime) -> tuple[str, str]:
    status = service.get("UpdateStatus") or {}
    started = _time(status.get("StartedAt"))
    if started is None or started < since - timedelta(seconds=2):
        return "", ""  # none, or one from an earlier deploy
    return str(status.get("State") or ""), str(status.get("Message") or "")


def _current_tasks(service: dict[str, Any], tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks meant to run that run the service's current container spec."""
    wanted = json.dumps(
        ((service.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec"),
        sort_keys=True,
    )
    return [
        t
        for t in tasks
        if t.get("ServiceID") == service.get("ID")
        and t.get("desired_state") == "running"
        and json.dumps((t.get("Spec") or {}).get("ContainerSpec"), sort_keys=True) == wanted
    ]


def _failed_tasks(service: dict[str, Any], tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    spec = ((service.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec", {})
    return [
        t
        for t in tasks
        if t.get("ServiceID") == service.get("ID")
        and t.get("state") in ("failed", "rejected")
        and (t.get("Spec") or {}).get("ContainerSpec") == spec
    ]


def _why(service: dict[str, Any], tasks: list[dict[str, Any]]) -> str:
    """What made an update fail: the newest error of a task not of the current spec."""
    current = ((service.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec")
    failed = [
        t
        for t in tasks
        if t.get("ServiceID") == service.get("ID")
        and t.get("state") in ("failed", "rejected")
        and (t.get("Spec") or {}).get("ContainerSpec") != current
    ]
    failed.sort(key=lambda t: str(t.get("updated_at") or ""))
    return str(failed[-1].get("error") or failed[-1].get("message") or "") if failed else ""


def _spec_labels(service: dict[str, Any]) -> tuple[str, str]:
    labels = (service.get("Spec") or {}).get("Labels") or {}
    return str(labels.get(FINGERPRINT, "")), str(labels.get(STACK_IMAGE, ""))


def spec_labels(spec: dict[str, Any]) -> tuple[str, str]:
    """The (fingerprint, image) labels of a spec fleetdeck sends."""
    return _spec_labels({"Spec": spec})


def check(
    watch: Watch,
    service: dict[str, Any] | None,
    tasks: list[dict[str, Any]],
    since: datetime,
    *,
    node_states: dict[str, str] | None = None,
    now: float | None = None,
) -> str:
    """Update ``watch`` from one snapshot; return a progress message when something moved.

    ``node_states`` (hostname → the manager's node state) and ``now`` (a monotonic clock)
    let a stall that Swarm would wait on forever end the wait (see .stalls).
    """
    if service is None:
        watch.failed = "the service disappeared"
        return watch.failed
    state, message = _update_state(service, since)
    if state == _ROLLING_BACK:
        watch.cause = watch.cause or _why(service, tasks) or message
        return f"rolling back: {watch.cause}"
    replaced = watch.sent != ("", "") and _spec_labels(service) != watch.sent
    if (state == _ROLLED_BACK or replaced) and not (watch.rolled_back or watch.expect_rollback):
        # Our spec is gone (Swarm put the previous one back): that is a rollback even when
        # the manager's clock makes its update status look older than our deploy. Swarm
        # calls the rollback complete before the old tasks are back: wait for them.
        watch.rolled_back = True
        watch.cause = watch.cause or _why(service, tasks) or message or "spec replaced"
    if state in _STUCK:
        watch.failed = message or "update paused"
        return watch.failed
    current = _current_tasks(service, tasks)
    running = [t for t in current if t.get("state") == "running"]
    want = len(current) if watch.global_mode else replicas_of(service.get("Spec") or {})
    failures = [
        t for t in _failed_tasks(service, tasks) if (_time(t.get("updated_at")) or since) >= since
    ]
    if state != "updating" and len(failures) >= FAILED_TASKS_LIMIT and len(running) < want:
        last = failures[-1]
        watch.failed = f"tasks keep failing: {last.get('error') or last.get('message')}"
        return watch.failed
    down = down_nodes(node_states)
    settled = state in ("", "completed", _ROLLED_BACK)
    stopping = lingering(service, tasks, down)
    if settled and len(running) == want and (want > 0 or watch.global_mode or not current):
        if watch.rolled_back:
            watch.failed = f"the update failed and Swarm rolled it back ({watch.cause})"
            return watch.failed
        if not stopping:
            watch.done = True
            return f"{len(running)}/{want} tasks running"
    message = f"{len(running)}/{want} tasks running" + (f" ({state})" if state else "")
    if stopping:
        message += f", {stopping} replaced task(s) still stopping"
    return _stalled(watch, service, tasks, since, down, current, now) or message


def _stalled(
    watch: Watch,
    service: dict[str, Any],
    tasks: list[dict[str, Any]],
    since: datetime,
    down: set[str],
    current: list[dict[str, Any]],
    now: float | None,
) -> str:
    """End a wait Swarm would never end by itself; answer the failure, or ``""``."""
    if now is None:
        return ""
    lost = stuck_on_down_nodes(service, tasks, down, since)
    if watch.stalls.lasted("down", bool(lost), now, DOWN_NODE_GRACE_S):
        watch.failed = (
            f"node {', '.join(lost)} is down (the manager lost it) and holds tasks of this "
            "service: Swarm's update cannot finish until it is back"
        )
        return watch.failed
    reason = unplaceable(current)
    if watch.stalls.lasted("unplaceable", bool(reason), now, UNPLACEABLE_GRACE_S):
        watch.failed = f"no node can run its tasks: {reason}"
        watch.undo = not watch.expect_rollback
        return watch.failed
    return ""


async def converge(
    link: AgentLink,
    stack: str,
    watches: list[Watch],
    *,
    since: datetime,
    timeout_s: float,
    progress: Callable[[ProgressEvent], Awaitable[None]],
) -> None:
    """Poll the stack until every watched service converged, failed or rolled back."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    pending = list(watches)
    while pending:
        snapshot = await link.agent.swarm_stack(stack)
        services = {s["name"]: s for s in snapshot["services"]}
        for watch in pending:
            message = check(
                watch,
                services.get(watch.full_name),
                snapshot["tasks"],
                since,
                node_states=snapshot.get("node_states"),
                now=loop.time(),
            )
            if watch.done:
                await progress(ProgressEvent(stack, "health", "ok", message, watch.service))
            elif watch.failed:
                step = "rollback" if watch.rolled_back or watch.undo else "health"
                await progress(ProgressEvent(stack, step, "failed", watch.failed, watch.service))
            elif message and message != watch.last:
                await progress(ProgressEvent(stack, "health", "info", message, watch.service))
            watch.last = message or watch.last
        pending = [w for w in pending if not (w.done or w.failed)]
        if pending and loop.time() > deadline:
            for watch in pending:
                watch.failed = f"not converged after {timeout_s:.0f}s ({watch.last})"
                await progress(
                    ProgressEvent(stack, "health", "failed", watch.failed, watch.service)
                )
            return
        if pending:
            await asyncio.sleep(POLL_S)


def _task_health(state: str, has_check: bool) -> str | None:
    if not has_check:
        return None
    return {"running": "healthy", "starting": "starting"}.get(state)


def service_status(
    stack: str, service: dict[str, Any], tasks: list[dict[str, Any]]
) -> ServiceStatus:
    """One service's ``stack ps`` row from its tasks (running ones are healthy: see above)."""
    mine = [t for t in tasks if t.get("ServiceID") == service.get("ID")]
    live = [t for t in mine if t.get("desired_state") == "running"]
    running = [t for t in live if t.get("state") == "running"]
    desired = service.get("replicas")
    container = ((service.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec", {})
    has_check = (container.get("HealthCheck") or {}).get("Test", ["NONE"])[:1] != ["NONE"]
    containers = [
        {
            "id": t.get("container_id") or t.get("id"),
            "name": f"{service.get('name')}.{t.get('slot') or t.get('node_id')}",
            "node": t.get("node"),
            "state": t.get("state"),
            # Swarm holds a task with a healthcheck in "starting" until it is healthy.
            "health": _task_health(str(t.get("state")), has_check),
            "desired_state": t.get("desired_state"),
            "error": t.get("error"),
            "image": t.get("image"),
            "image_ref": t.get("image_ref") or t.get("image"),
        }
        for t in live
    ]
    return ServiceStatus(
        service=str(service.get("name", "")).removeprefix(f"{stack}_"),
        desired=int(desired if desired is not None else len(live)),
        running=len(running),
        healthy=len(running),
        image=str(service.get("image", "")),
        containers=containers,
        image_ref=str(service.get("image_ref") or service.get("image", "")),
    )
