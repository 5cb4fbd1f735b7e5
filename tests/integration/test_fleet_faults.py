"""Faults on a real fleet: partitions, stopped engines, killed agents; the rest keeps answering."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fleetdeck.errors import NodeUnreachableError
from fleetdeck.lab import Lab
from fleetdeck.lab.fleet_server import start_agent
from tests.conftest import client_for, fleetdeck, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.client.client import FleetdeckClient
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def _status(client: FleetdeckClient, env: str) -> str:
    return client.get_environment(env).status


def test_partitioned_node_is_unreachable_fast_and_recovers(fleet3: LabRecord) -> None:
    lab = Lab(fleet3.name)
    node3 = fleet3.nodes[2]
    name = f"part-{uuid.uuid4().hex[:6]}"
    docker(node3, "run", "-d", "--name", name, fleet3.images["web"])
    with client_for(fleet3) as client:
        wait_for("container on node3", lambda: client.list_containers(name=name).total == 1)
        lab.partition(node3.name)
        try:
            started = time.monotonic()
            wait_for(
                "node3 unreachable",
                lambda: _status(client, node3.name) == "unreachable",
                timeout=10,
            )
            detected = time.monotonic() - started
            assert detected <= 10
            # Every other node keeps answering, and the list is served from memory.
            assert _status(client, "node1") == "up"
            t0 = time.monotonic()
            page = client.list_containers(limit=1000)
            assert time.monotonic() - t0 < 2
            assert any(c.name == name for c in page.items)  # last known state is kept
            t0 = time.monotonic()
            with pytest.raises(NodeUnreachableError, match="unreachable"):
                client.stop_container(f"{node3.name}/{name}")
            assert time.monotonic() - t0 < 2  # fails fast, nothing is attempted
            proc = fleetdeck("stop", f"{node3.name}/{name}", env=server_env(fleet3), check=False)
            assert proc.returncode == 6 and "unreachable" in proc.stderr
            # Streaming commands too (issue #12: pull exited 1, its error told in-band only).
            ref = f"{node3.name}/{name}"
            for args in (
                ("pull", "--env", node3.name, fleet3.images["web"]),
                ("logs", "-f", ref),
                ("stats", ref),
                ("exec", ref, "--", "true"),
                ("exec", "-i", ref, "--", "true"),  # the console websocket fails fast too
            ):
                proc = fleetdeck(*args, env=server_env(fleet3), check=False)
                assert (proc.returncode, "unreachable" in proc.stderr) == (6, True), (args, proc)
            # Changes made while partitioned show up after healing.
            docker(node3, "rm", "-f", name)
        finally:
            lab.heal(node3.name)
        wait_for("node3 up again", lambda: _status(client, node3.name) == "up", timeout=20)
        wait_for(
            "inventory corrected", lambda: client.list_containers(name=name).total == 0, timeout=10
        )
        ids = [c.id for c in client.list_containers(limit=5000).items]
        assert len(ids) == len(set(ids))


def test_stopped_engine_shows_engine_down_then_recovers(fleet3: LabRecord) -> None:
    lab = Lab(fleet3.name)
    node2 = fleet3.nodes[1]
    name = f"eng-{uuid.uuid4().hex[:6]}"
    docker(node2, "run", "-d", "--restart", "always", "--name", name, fleet3.images["web"])
    with client_for(fleet3) as client:
        wait_for("container", lambda: client.list_containers(name=name).total == 1)
        lab.stop_node(node2.name)
        try:
            wait_for(
                "engine down", lambda: _status(client, node2.name) == "engine_down", timeout=10
            )
            assert _status(client, "node1") == "up"
        finally:
            lab.start_node(node2.name)
        wait_for("engine up", lambda: _status(client, node2.name) == "up", timeout=20)
        wait_for(
            "container running again",
            lambda: client.list_containers(name=name, state="running").total == 1,
            timeout=20,
        )
        assert client.list_containers(name=name).total == 1
    docker(node2, "rm", "-f", name)


def _agent_pid(state_dir: Path) -> int | None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"agent" in cmdline and str(state_dir).encode() in cmdline and b"nsenter" not in cmdline:
            return int(proc.name)
    return None


def test_killed_agent_restarts_without_token_and_nothing_duplicates(fleet3: LabRecord) -> None:
    lab = Lab(fleet3.name)
    node1 = fleet3.nodes[0]
    assert fleet3.server is not None
    state_dir = lab.names.state_dir / node1.name / "agent"
    pid = _agent_pid(state_dir)
    assert pid is not None
    with client_for(fleet3) as client:
        before = sorted(
            c.id for c in client.list_containers(environment=node1.name, limit=5000).items
        )
        os.kill(pid, signal.SIGKILL)
        wait_for(
            "node1 unreachable", lambda: _status(client, node1.name) == "unreachable", timeout=10
        )
        name = f"gap-{uuid.uuid4().hex[:6]}"
        docker(node1, "run", "-d", "--name", name, fleet3.images["base"], "sleep", "600")
        # Restart with its saved credentials: the (used) join token is not needed again.
        start_agent(lab.names, node1, fleet3.server, "FDJT-1-" + "0" * 64 + "-used")
        wait_for("node1 up", lambda: _status(client, node1.name) == "up", timeout=20)
        wait_for(
            "container started during the outage",
            lambda: client.list_containers(name=name).total == 1,
        )
        after = sorted(
            c.id for c in client.list_containers(environment=node1.name, limit=5000).items
        )
        assert len(after) == len(set(after)) == len(before) + 1
    docker(node1, "rm", "-f", name)
