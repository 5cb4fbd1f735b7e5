"""Hardening rules that block a deploy, on a real server and node (plain host).

The lab's server is restarted with ``stacks_blocking_rules = privileged,docker-socket`` for
these tests and put back to its normal settings afterwards, so later tests see the usual one.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.server_helpers import restart_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

BLOCKING = {"FLEETDECK_STACKS_BLOCKING_RULES": "privileged,docker-socket"}


@pytest.fixture(scope="module")
def blocking_fleet(fleet3: LabRecord) -> Iterator[LabRecord]:
    """The lab with its server restarted under blocking rules; the normal server after."""
    restart_server(fleet3, BLOCKING)
    try:
        yield fleet3
    finally:
        restart_server(fleet3)


def _owned(node: NodeRecord, stack: str) -> list[str]:
    label = f"label=com.docker.compose.project={stack}"
    found = docker(node, "ps", "-aq", "--filter", label).split()
    found += docker(node, "network", "ls", "-q", "--filter", label).split()
    return found + docker(node, "volume", "ls", "-q", "--filter", label).split()


def test_a_blocking_rule_refuses_the_deploy_and_nothing_changes(
    blocking_fleet: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(blocking_fleet), blocking_fleet.nodes[2]
    stack = f"h{uuid.uuid4().hex[:6]}"
    base = blocking_fleet.images["base"]
    path = tmp_path / "compose.yaml"
    path.write_text(f"""
services:
  ok:
    image: {base}
    command: ["sleep", "3600"]
  agentish:
    image: {base}
    command: ["sleep", "3600"]
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
  admin:
    image: {base}
    command: ["sleep", "3600"]
    privileged: true
volumes:
  data: {{}}
""")
    out = fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env,
                    check=False)  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "rule docker-socket blocks deploys: service(s) agentish" in out.stderr, out.stderr
    assert "rule privileged blocks deploys: service(s) admin" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert _owned(node, stack) == []  # no container, network or volume on the node
    assert stack not in {s["name"] for s in fleetdeck_json("stack", "ls", env=env)}
    # The diff shows the same findings as blocking, and still changes nothing.
    with client_for(blocking_fleet) as client:
        files = [{"name": "compose.yaml", "content": path.read_text()}]
        plan = client.diff_stack(stack, node.name, files)
    blocking = {(f["service"], f["rule"]) for f in plan["findings"] if f["blocking"]}
    assert blocking == {("agentish", "docker-socket"), ("admin", "privileged")}
    assert _owned(node, stack) == []


def test_warnings_alone_deploy_and_an_image_user_is_not_root(
    blocking_fleet: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(blocking_fleet), blocking_fleet.nodes[2]
    stack = f"w{uuid.uuid4().hex[:6]}"
    base = blocking_fleet.images["base"]
    # An image that sets USER, on the node only (as `docker build` on the host would make).
    tagged = f"{blocking_fleet.registry}/fleetdeck/nobody-{stack}:1"
    docker(node, "pull", base, timeout=300)
    holder = docker(node, "create", base, "true")
    docker(node, "commit", "--change", "USER nobody", holder, tagged)
    docker(node, "rm", holder)
    path = tmp_path / "compose.yaml"
    path.write_text(f"""
services:
  asroot:
    image: {base}
    command: ["sleep", "3600"]
  unprivileged:
    image: {tagged}
    command: ["sleep", "3600"]
""")
    try:
        out = fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
        assert "[warn] asroot, unprivileged: has no memory limit (no-memory-limit)" in out.stderr
        assert "[warn] asroot: image" in out.stderr and "latest" in out.stderr, out.stderr
        assert "[block]" not in out.stderr
        user = docker(node, "exec", f"{stack}-unprivileged-1", "id", "-u")
        assert user == "65534"
        with client_for(blocking_fleet) as client:
            plan = client.diff_stack(stack, node.name, None)
        root = {f["service"]: f["message"] for f in plan["findings"] if f["rule"] == "root-user"}
        assert "unprivileged" not in root  # the image's own USER counts
        assert root["asroot"] == "runs as root (no user set, and the image sets none)"
        assert plan["image_users"][tagged] == "nobody"
    finally:
        fleetdeck("stack", "rm", stack, "-y", env=env, check=False)
        docker(node, "rmi", tagged, check=False)
