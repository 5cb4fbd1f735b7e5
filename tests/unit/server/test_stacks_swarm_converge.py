"""Telling a converged Swarm service from one still rolling, rolled back, paused or failing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fleetdeck.server.stacks.swarm.converge import Watch, check, service_status
from fleetdeck.server.stacks.swarm.stalls import DOWN_NODE_GRACE_S, UNPLACEABLE_GRACE_S

SINCE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NEW = {"Image": "web:2"}
OLD = {"Image": "web:1"}


def _iso(delta_s: float) -> str:
    return (SINCE + timedelta(seconds=delta_s)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def _service(
    spec: dict[str, Any], state: str | None = None, at: float = 1.0, **kw: Any
) -> dict[str, Any]:
    service: dict[str, Any] = {
        "ID": "svc",
        "name": "s_web",
        "image": spec["Image"],
        "replicas": 3,
        "Spec": {"TaskTemplate": {"ContainerSpec": spec}, "Mode": {"Replicated": {"Replicas": 3}}},
        **kw,
    }
    if state:
        service["UpdateStatus"] = {"State": state, "StartedAt": _iso(at), "Message": state}
    return service


def _task(spec: dict[str, Any], state: str = "running", **kw: Any) -> dict[str, Any]:
    return {
        "ServiceID": "svc",
        "Spec": {"ContainerSpec": spec},
        "state": state,
        "desired_state": "running" if state in ("running", "starting") else "shutdown",
        "updated_at": _iso(2),
        **kw,
    }


def test_done_when_every_task_runs_the_new_spec() -> None:
    watch = Watch("web", "s_web")
    tasks = [_task(NEW), _task(NEW), _task(OLD)]
    assert check(watch, _service(NEW, "updating"), tasks, SINCE) == "2/3 tasks running (updating)"
    assert not watch.done
    check(watch, _service(NEW, "completed"), [_task(NEW)] * 3, SINCE)
    assert watch.done and not watch.failed


def test_a_status_from_an_earlier_deploy_is_ignored() -> None:
    watch = Watch("web", "s_web")
    stale = _service(NEW, "rollback_completed", at=-60)
    assert check(watch, stale, [_task(OLD)] * 3, SINCE) == "0/3 tasks running"
    assert not watch.rolled_back and not watch.failed


def test_a_rollback_is_reported_once_the_old_tasks_are_back() -> None:
    watch = Watch("web", "s_web")
    failed = _task(
        NEW, "failed", error="task: non-zero exit (137): dockerexec: unhealthy container"
    )
    message = check(watch, _service(OLD, "rollback_started"), [failed, _task(OLD)], SINCE)
    assert message.startswith("rolling back: task: non-zero exit (137)")
    check(watch, _service(OLD, "rollback_completed"), [failed, _task(OLD)], SINCE)
    assert watch.rolled_back and not watch.failed  # two old tasks are still missing
    check(watch, _service(OLD, "rollback_completed"), [failed, *[_task(OLD)] * 3], SINCE)
    assert watch.failed.startswith("the update failed and Swarm rolled it back (task: non-zero")
    assert not watch.done


def test_a_paused_update_fails() -> None:
    watch = Watch("web", "s_web")
    check(watch, _service(NEW, "paused"), [_task(OLD)] * 3, SINCE)
    assert watch.failed == "paused"


def test_a_new_service_whose_tasks_keep_failing_fails() -> None:
    watch = Watch("web", "s_web")
    tasks = [_task(NEW, "failed", error="no such image")] * 3
    check(watch, _service(NEW), tasks, SINCE)
    assert watch.failed == "tasks keep failing: no such image"


def test_service_status_counts_tasks() -> None:
    tasks = [
        _task(NEW, slot=1, node="n1", id="t1"),
        _task(NEW, "starting", slot=2, node="n2", id="t2"),
        _task(OLD, "shutdown"),
    ]
    status = service_status("s", _service(NEW), tasks)
    assert (status.service, status.desired, status.running, status.healthy) == ("web", 3, 1, 1)
    assert [c["name"] for c in status.containers] == ["s_web.1", "s_web.2"]


def test_a_replaced_spec_is_a_rollback_whatever_the_managers_clock() -> None:
    ours = {"io.fleetdeck.stack.fingerprint": "{new}", "com.docker.stack.image": "web:2"}
    theirs = {"io.fleetdeck.stack.fingerprint": "{old}", "com.docker.stack.image": "web:1"}
    watch = Watch("web", "s_web", sent=("{new}", "web:2"))
    ahead = _service(NEW, "updating", at=1)
    ahead["Spec"]["Labels"] = ours
    check(watch, ahead, [_task(OLD)] * 3, SINCE)
    assert not watch.rolled_back
    # the manager's clock is behind: its status looks older than the deploy, so it is ignored
    back = _service(OLD, "rollback_completed", at=-60)
    back["Spec"]["Labels"] = theirs
    check(watch, back, [_task(OLD)] * 3, SINCE)
    assert watch.rolled_back and watch.failed.startswith("the update failed and Swarm rolled")


def test_done_only_once_replaced_tasks_have_stopped() -> None:
    watch = Watch("web", "s_web")
    stopping = _task(OLD, "running", desired_state="shutdown", node="n3")
    tasks = [*[_task(NEW, node="n1")] * 3, stopping]
    message = check(watch, _service(NEW, "completed"), tasks, SINCE, node_states={"n3": "ready"})
    assert not watch.done and "1 replaced task(s) still stopping" in message
    # ... unless its node is down: nothing will ever report that task stopped
    check(watch, _service(NEW, "completed"), tasks, SINCE, node_states={"n3": "down"})
    assert watch.done


def test_a_task_on_a_down_node_ends_the_wait_after_a_grace() -> None:
    watch = Watch("web", "s_web")
    tasks = [_task(NEW, node="n1"), _task(NEW, node="n2"), _task(OLD, node="n3")]
    states = {"n1": "ready", "n2": "ready", "n3": "down"}
    service = _service(NEW, "updating")
    check(watch, service, tasks, SINCE, node_states=states, now=100.0)
    assert not watch.failed
    check(watch, service, tasks, SINCE, node_states=states, now=100.0 + DOWN_NODE_GRACE_S)
    assert watch.failed.startswith("node n3 is down") and not watch.undo


def test_a_node_back_up_restarts_the_grace() -> None:
    watch = Watch("web", "s_web")
    tasks = [_task(NEW, node="n1"), _task(OLD, node="n3")]
    service = _service(NEW, "updating")
    check(watch, service, tasks, SINCE, node_states={"n3": "down"}, now=0.0)
    check(watch, service, tasks, SINCE, node_states={"n3": "ready"}, now=5.0)
    check(watch, service, tasks, SINCE, node_states={"n3": "down"}, now=DOWN_NODE_GRACE_S + 1)
    assert not watch.failed


def test_an_old_task_left_on_a_node_down_for_long_does_not_count() -> None:
    watch = Watch("web", "s_web")
    stale = _task(OLD, "running", desired_state="shutdown", node="n3", updated_at=_iso(-3600))
    tasks = [*[_task(NEW, node="n1")] * 2, stale]
    service = _service(NEW, "updating")
    for now in (0.0, 60.0):
        check(watch, service, tasks, SINCE, node_states={"n3": "down"}, now=now)
    assert not watch.failed


def test_a_task_no_node_can_take_is_undone_after_a_grace() -> None:
    watch = Watch("web", "s_web")
    reason = "no suitable node (scheduling constraints not satisfied on 3 nodes)"
    pending = _task(NEW, "pending", desired_state="running", error=reason)
    tasks = [pending, *[_task(OLD)] * 3]
    service = _service(NEW, "updating")
    check(watch, service, tasks, SINCE, node_states={}, now=0.0)
    assert not watch.failed
    check(watch, service, tasks, SINCE, node_states={}, now=UNPLACEABLE_GRACE_S)
    assert watch.failed == f"no node can run its tasks: {reason}" and watch.undo
