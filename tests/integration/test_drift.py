"""Drift on the real lab: hand-made changes with the docker CLI show as drift; revert undoes them.

A plain host (``fleet3``): ``docker rm`` of a stack container and ``docker run`` with the
stack's Compose labels; a stopped stack is not revived. A Swarm (``swarm3``): ``docker service
update --env-add``. Everything through the CLI (``stack drift``, ``stack diff``, ``stack ls``)
and checked with the docker CLI on the node.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

#: Looks happen on inventory events within a second or two; a revert is a whole deploy.
LOOK_S = 45.0


def _compose(image: str, *, extra: str = "", replicas: int = 2) -> str:
    return f"""
{extra}
services:
  web:
    image: {image}
    deploy:
      replicas: {replicas}
"""


def _drift(env: dict[str, str], stack: str) -> dict[str, Any]:
    report: dict[str, Any] = fleetdeck_json("stack", "drift", stack, env=env)
    return report


def _drift_when(
    env: dict[str, str],
    stack: str,
    what: str,
    test: Callable[[dict[str, Any]], bool],
    timeout: float = LOOK_S,
) -> dict[str, Any]:
    """The drift report once ``test`` holds for it (fails naming ``what`` after ``timeout``)."""

    def probe() -> dict[str, Any] | None:
        report = _drift(env, stack)
        return report if test(report) else None

    return wait_for(what, probe, timeout)


def _whats(report: dict[str, Any], service: str) -> set[str]:
    return {
        d["what"] for s in report["services"] if s["service"] == service for d in s["differences"]
    }


def _names(node: NodeRecord, stack: str, *, all_states: bool = True) -> dict[str, str]:
    """Container name → state of the stack's containers on the node."""
    args = ["ps", "--filter", f"label=com.docker.compose.project={stack}"]
    out = docker(node, *args, *(["-a"] if all_states else []), "--format", "{{.Names}} {{.State}}")
    return dict(line.split() for line in out.splitlines() if line.strip())


def _deploy(env: dict[str, str], stack: str, path: Path, where: str) -> None:
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", where, env=env)


def _reverts(env: dict[str, str], stack: str) -> list[dict[str, Any]]:
    entries = fleetdeck_json("audit", "--action", "stack.drift.revert", env=env)
    items = entries["items"] if isinstance(entries, dict) else entries
    return [e for e in items if e["target"] == stack]


def _alerts(env: dict[str, str], stack: str) -> list[dict[str, Any]]:
    found = fleetdeck_json("alerts", "-a", "--rule", "stack-drift", env=env)
    return [a for a in found if a["labels"].get("stack") == stack]


def test_host_drift_rm_and_run_show_and_revert_undoes(fleet3: LabRecord, tmp_path: Path) -> None:
    env, node = server_env(fleet3), fleet3.nodes[2]
    stack = f"d{uuid.uuid4().hex[:6]}"
    path = tmp_path / "compose.yaml"
    path.write_text(_compose(fleet3.images["web"]))
    _deploy(env, stack, path, node.name)
    first = _drift_when(env, stack, "in sync", lambda r: r["state"] == "in_sync")
    assert first["policy"] == "notify" and first["policy_source"] == "default"
    assert first["desired"]["web"]["replicas"] == 2

    docker(node, "rm", "-f", f"{stack}-web-2")
    report = _drift_when(env, stack, "a removed container", lambda r: r["drifted"])
    assert _whats(report, "web") == {"missing"}, report
    hand = f"{stack}-hand"
    docker(
        node, "run", "-d", "--name", hand,
        "--label", f"com.docker.compose.project={stack}",
        "--label", "com.docker.compose.service=web",
        fleet3.images["base"], "sleep", "3600",
    )  # fmt: skip
    report = _drift_when(env, stack, "a hand-made one", lambda r: "extra" in _whats(r, "web"))
    web = next(s for s in report["services"] if s["service"] == "web")
    messages = " ".join(d["message"] for d in web["differences"])
    assert hand in messages and "added by hand" in messages, web
    assert "image" in _whats(report, "web")  # the hand-made one runs another image
    # The listing's drift column, and stack diff (table and JSON) show it per service.
    listed = {s["name"]: s for s in fleetdeck_json("stack", "ls", env=env)}
    assert listed[stack]["drift"] == "drifted"
    shown = fleetdeck("stack", "diff", stack, env=env).stdout
    assert "drift: drifted" in shown and hand in shown, shown
    changes = {c["service"]: c for c in fleetdeck_json("stack", "diff", stack, env=env)}
    assert {d["what"] for d in changes["web"]["drift"]} >= {"extra", "image"}
    assert not _reverts(env, stack)  # notify only: nothing was changed
    assert [a["state"] for a in _alerts(env, stack)] == ["firing"]  # once, however many looks

    report = fleetdeck_json("stack", "drift", stack, "--policy", "revert", env=env)
    assert report["policy"] == "revert" and report["policy_source"] == "api"
    wait_for("the revert", lambda: _drift(env, stack)["state"] == "in_sync", timeout=LOOK_S * 2)
    names = _names(node, stack)
    assert names == {f"{stack}-web-1": "running", f"{stack}-web-2": "running"}, names
    assert [e["result"] for e in _reverts(env, stack)][:1] == ["ok"]
    wait_for(
        "the resolved alert", lambda: [a["state"] for a in _alerts(env, stack)] == ["resolved"]
    )
    fleetdeck("stack", "rm", stack, "-y", env=env)


def test_host_stopped_stack_is_not_revived(fleet3: LabRecord, tmp_path: Path) -> None:
    env, node = server_env(fleet3), fleet3.nodes[1]
    stack = f"p{uuid.uuid4().hex[:6]}"
    path = tmp_path / "compose.yaml"
    path.write_text(_compose(fleet3.images["web"], extra="x-fleetdeck: {drift: revert}"))
    _deploy(env, stack, path, node.name)
    report = _drift_when(env, stack, "in sync", lambda r: r["state"] == "in_sync")
    assert (report["policy"], report["policy_source"]) == ("revert", "compose")

    docker(node, "stop", "-t", "1", f"{stack}-web-1", f"{stack}-web-2")
    docker(node, "rm", f"{stack}-web-2")  # even a missing replica of a stopped stack stays out
    wait_for("the stopped state", lambda: _drift(env, stack)["state"] == "stopped", timeout=LOOK_S)
    # A later full look (the API's own) still finds it stopped and never reverted.
    assert _drift(env, stack)["state"] == "stopped"
    assert _names(node, stack) == {f"{stack}-web-1": "exited"}
    assert not _reverts(env, stack)

    # Suspended: not reverted even once it runs again with a replica missing.
    suspended = fleetdeck_json("stack", "drift", stack, "--suspend", env=env)
    assert suspended["suspended"] is True
    docker(node, "start", f"{stack}-web-1")
    wait_for("suspended", lambda: _drift(env, stack)["state"] == "suspended", timeout=LOOK_S)
    assert _names(node, stack) == {f"{stack}-web-1": "running"}
    assert not _reverts(env, stack)
    fleetdeck("stack", "rm", stack, "-y", env=env)


SWARM_FILE = """
services:
  web:
    image: {image}
    environment:
      GREETING: hello
    deploy:
      replicas: 1
"""


def _env_of(manager: NodeRecord, service: str) -> list[str]:
    out = docker(manager, "service", "inspect", service, "--format", "{{json .Spec}}")
    env: list[str] = json.loads(out)["TaskTemplate"]["ContainerSpec"].get("Env") or []
    return env


def test_swarm_env_add_shows_as_drift_and_revert_undoes(swarm3: LabRecord, tmp_path: Path) -> None:
    env, manager = server_env(swarm3), swarm3.nodes[0]
    stack = f"w{uuid.uuid4().hex[:6]}"
    path = tmp_path / "compose.yaml"
    path.write_text(SWARM_FILE.format(image=swarm3.images["web"]))
    _deploy(env, stack, path, "swarm")
    wait_for("in sync", lambda: _drift(env, stack)["state"] == "in_sync", timeout=LOOK_S)

    docker(manager, "service", "update", "--detach", "--env-add", "HAND=1", f"{stack}_web")
    report = _drift_when(env, stack, "the env-add", lambda r: r["drifted"])
    web = next(s for s in report["services"] if s["service"] == "web")
    assert [d["message"] for d in web["differences"]] == ["changed by hand: environment"], web
    assert {s["name"]: s["drift"] for s in fleetdeck_json("stack", "ls", env=env)}[stack] == (
        "drifted"
    )

    fleetdeck("stack", "drift", stack, "--policy", "revert", env=env)
    wait_for("the revert", lambda: "HAND=1" not in _env_of(manager, f"{stack}_web"), LOOK_S * 2)
    assert _env_of(manager, f"{stack}_web") == ["GREETING=hello"]
    wait_for("in sync again", lambda: _drift(env, stack)["state"] == "in_sync", timeout=LOOK_S)
    fleetdeck("stack", "rm", stack, "-y", env=env)
