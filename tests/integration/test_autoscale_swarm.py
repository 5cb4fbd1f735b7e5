"""The autoscaler on a Swarm service, on the real lab Swarm: CPU load scales up, then back down.

Issue #15's Done-when for Swarm: CPU burned in a 2-replica web service scales it up within
30 s of the load starting (the wait's timeout) and back to 2 once the load stopped and the
scale-down window passed. The service is a plain ``docker service create`` on the shared
``swarm3`` lab, its tasks spread over the nodes, so the CPU figures come from each node's
agent (per task container) and the scale goes through the manager. The server is restarted
with a 3 s sync and the policy has a 20 s scale-down window; the server is restarted
normally at the end.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for
from tests.integration.server_helpers import restart_server

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

ENV = "swarm"
SERVICE_LABEL = "com.docker.swarm.service.name"


def _replicas(record: LabRecord, name: str) -> tuple[int, int]:
    """(running, desired) tasks of the service, as ``docker service ls`` shows them."""
    out = docker(record.nodes[0], "service", "ls", "--filter", f"name={name}",
                 "--format", "{{.Name}} {{.Replicas}}")  # fmt: skip
    for line in out.splitlines():
        got, _, replicas = line.partition(" ")
        if got == name:
            running, _, desired = replicas.split(" ", 1)[0].partition("/")
            return int(running), int(desired)
    raise AssertionError(f"no service {name}: {out!r}")


def _burn(record: LabRecord, name: str, seconds: int) -> int:
    """Two busy loops in every running task container of the service; answer how many tasks."""
    tasks = 0
    for node in record.nodes:
        out = docker(node, "ps", "--filter", f"label={SERVICE_LABEL}={name}",
                     "--format", "{{.Names}}")  # fmt: skip
        for container in out.split():
            tasks += 1
            for _ in range(2):
                docker(node, "exec", "-d", container, "wget", "-q", "-O", "/dev/null",
                       f"http://127.0.0.1/cgi-bin/cpu?seconds={seconds}")  # fmt: skip
    return tasks


def test_cpu_load_scales_a_swarm_service_up_and_back_down(swarm3: LabRecord) -> None:
    """Over 60 s (about 100): a server restart each way, a 30 s burn, a 20 s scale-down window.

    The scale-up is decided from the agents' 10 s CPU samples of the task containers; the way
    back down waits for fresh low samples and the window.
    """
    env, manager = server_env(swarm3), swarm3.nodes[0]
    name = f"as{uuid.uuid4().hex[:6]}"
    ref = f"{ENV}/{name}"
    restart_server(swarm3, {"FLEETDECK_AUTOSCALE_SYNC_S": "3"})
    docker(manager, "service", "create", "--detach", "--name", name, "--replicas", "2",
           "--limit-cpu", "0.5", swarm3.images["web"])  # fmt: skip
    try:
        wait_for("2 tasks running", lambda: _replicas(swarm3, name) == (2, 2), timeout=60)
        flags = ["--min", "2", "--max", "4", "--cpu", "10", "--scale-down-window", "20"]
        fleetdeck("autoscale", "set", ref, *flags, env=env)
        # The target is low (10 % of half a core) because this machine's cores are shared.
        assert _burn(swarm3, name, 30) == 2

        def scaled_up() -> bool:
            return _replicas(swarm3, name)[1] > 2

        wait_for("scaled up within 30 s of the load", scaled_up, timeout=30)
        wait_for("back to 2", lambda: _replicas(swarm3, name) == (2, 2), timeout=120)
        rows: list[dict[str, Any]] = fleetdeck_json("autoscale", "history", ref, env=env)
        applied = [(r["current"], r["desired"]) for r in rows if r["applied"]]
        assert any(d > c for c, d in applied) and any(d < c for c, d in applied), rows
        up = next(r for r in rows if r["applied"] and r["desired"] > r["current"])
        assert up["metrics"]["cpu"]["value"] > 10, up
        fleetdeck("autoscale", "rm", ref, env=env)
    finally:
        docker(manager, "service", "rm", name, check=False)
        restart_server(swarm3)
