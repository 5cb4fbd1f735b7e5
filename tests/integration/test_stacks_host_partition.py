"""A plain-host deploy whose node is partitioned mid-call ends saying so; the next one converges.

The fault the issue names: a deploy interrupted at any point (here, the node's link cut while
the server waits on a long container stop) must end with the reason, not hang, and the next
apply must converge with no orphaned or duplicated containers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING

import pytest

from fleetdeck.lab import Lab
from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

#: A busybox ``sleep`` as PID 1 ignores SIGTERM, so stopping it takes the whole grace period:
#: the server's stop call is in flight for a minute, long enough to cut the link under it.
SLOW_TO_STOP = """
services:
  slow:
    image: {base}
    command: ["sleep", "100000"]
    stop_grace_period: 60s
    environment: {{VERSION: "{version}"}}
    deploy:
      replicas: 1
      update_config: {{order: start-first}}
"""


def _containers(node: NodeRecord, stack: str) -> list[str]:
    """``NAME STATE VERSION`` of every container of the stack on the node."""
    fmt = '{{.Names}} {{.State}} {{.Label "com.docker.compose.service"}}'
    out = docker(node, "ps", "-a", "--filter", f"label=com.docker.compose.project={stack}",
                 "--format", fmt)  # fmt: skip
    return sorted(line for line in out.splitlines() if line.strip())


def _running(node: NodeRecord, stack: str) -> int:
    return sum(line.split()[1] == "running" for line in _containers(node, stack))


def _version(node: NodeRecord, name: str) -> str:
    env = docker(node, "inspect", "--format", "{{json .Config.Env}}", name)
    return "2" if '"VERSION=2"' in env else "1"


def test_a_node_partitioned_mid_deploy_fails_clearly_and_the_next_deploy_converges(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[2]
    lab = Lab(fleet3.name)
    stack = f"pt{uuid.uuid4().hex[:6]}"
    v1, v2 = tmp_path / "v1.yaml", tmp_path / "v2.yaml"
    v1.write_text(SLOW_TO_STOP.format(base=fleet3.images["base"], version="1"))
    v2.write_text(SLOW_TO_STOP.format(base=fleet3.images["base"], version="2"))
    fleetdeck("stack", "deploy", stack, "-f", str(v1), "--env", node.name, env=env)
    command = [sys.executable, "-m", "fleetdeck", "stack", "deploy", stack, "-f", str(v2),
               "--env", node.name]  # fmt: skip
    try:
        with subprocess.Popen(
            command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        ) as running:  # fmt: skip
            # start-first: the new replica runs, then the server stops the old one (60 s grace)
            wait_for("the new replica to run beside the old one",
                     lambda: _running(node, stack) == 2, timeout=120)  # fmt: skip
            time.sleep(2)  # the stop call is now in flight
            lab.partition(node.name)
            # well before the stop's own 60 s and the call's 600 s limit: the link gives up on
            # the call once the inventory stream marks the node unreachable (about 6 s)
            said, _ = running.communicate(timeout=300)
        assert running.returncode != 0, said
        said = " ".join(said.split())  # the CLI wraps long lines at the terminal's width
        assert "unreachable" in said and "deploy again once the node is back" in said, said
        assert node.name in said, said
    finally:
        lab.heal(node.name)
    with client_for(fleet3) as client:
        wait_for("the node back up",
                 lambda: client.get_environment(node.name).status == "up", timeout=120)  # fmt: skip
    history = fleetdeck_json("stack", "history", stack, env=env)
    assert history[0]["result"] == "failed", history
    fleetdeck("stack", "deploy", stack, "-f", str(v2), "--env", node.name, env=env)
    containers = _containers(node, stack)
    assert len(containers) == 1, containers
    name, state, _ = containers[0].split()
    assert state == "running" and _version(node, name) == "2", containers
    plan = fleetdeck_json("stack", "diff", stack, "-f", str(v2), "--env", node.name, env=env)
    assert [c["action"] for c in plan] == ["unchanged"], plan
    fleetdeck("stack", "rm", stack, "-y", env=env)
