"""A 3-node lab is a real fleet: distinct hosts, isolated engines, a shared registry, faults."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from fleetdeck.lab import Lab, LabRecord
from fleetdeck.lab.engine import engine_state
from tests.conftest import fleetdeck, fleetdeck_json
from tests.integration.docker_cli import docker, in_node, reachable

pytestmark = pytest.mark.lab


def test_nodes_have_distinct_addresses_and_hostnames(fleet3: LabRecord) -> None:
    ips = {node.ip for node in fleet3.nodes}
    names = {docker(node, "info", "--format", "{{.Name}}") for node in fleet3.nodes}
    assert len(fleet3.nodes) == 3
    assert len(ips) == 3
    assert names == {node.hostname for node in fleet3.nodes}
    for node in fleet3.nodes:
        addr = in_node(node, "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout
        assert f"{node.ip}/" in addr


def test_each_node_engine_has_its_own_engine_id(fleet3: LabRecord) -> None:
    ids = [docker(node, "info", "--format", "{{.ID}}") for node in fleet3.nodes]
    assert all(ids) and len(set(ids)) == 3, ids


def test_web_image_http_client_fetches_from_another_node_with_a_timeout(
    fleet3: LabRecord,
) -> None:
    server, client = fleet3.nodes[0], fleet3.nodes[1]
    name = f"web-{uuid.uuid4().hex[:8]}"
    docker(server, "run", "-d", "--name", name, "-p", "8088:80", fleet3.images["web"])
    try:
        assert _wait_health(server, name, "healthy")
        url = f"http://{server.ip}:8088/cgi-bin/hello"
        fetch = ["run", "--rm", fleet3.images["web"], "gnu-wget", "-T", "5", "-t", "1", "-qO-"]
        assert docker(client, *fetch, url).startswith("hello from ")
        # Nothing listens there: the client gives up on its own (busybox's -T segfaults).
        refused = subprocess.run(
            ["docker", "--host", client.docker_host, *fetch, f"http://{server.ip}:8099/"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 4, refused.stderr  # GNU wget: network failure
    finally:
        docker(server, "rm", "-f", name)


def test_web_image_http_client_resolves_container_names(fleet3: LabRecord) -> None:
    node = fleet3.nodes[2]
    net, name = f"n-{uuid.uuid4().hex[:8]}", f"web-{uuid.uuid4().hex[:8]}"
    docker(node, "network", "create", net)
    try:
        docker(node, "run", "-d", "--name", name, "--network", net, fleet3.images["web"])
        assert _wait_health(node, name, "healthy")
        fetch = ["gnu-wget", "-T", "5", "-t", "1", "-qO-", f"http://{name}/cgi-bin/hello"]
        out = docker(node, "run", "--rm", "--network", net, fleet3.images["web"], *fetch)
        assert out.startswith("hello from ")
    finally:
        docker(node, "rm", "-f", name, check=False)
        docker(node, "network", "rm", net, check=False)


def test_status_json_has_the_stable_keys(fleet3: LabRecord) -> None:
    status = fleetdeck_json("lab", "status", "--name", fleet3.name)
    assert status["gateway"] == fleet3.gateway
    assert status["registry"] == f"{fleet3.gateway}:5000"
    images = status["images"]
    assert isinstance(images, dict)
    assert images["base"].startswith(f"{fleet3.registry}/")
    assert images["web"].startswith(f"{fleet3.registry}/")
    nodes = status["nodes"]
    assert isinstance(nodes, list)
    for entry, node in zip(nodes, fleet3.nodes, strict=True):
        assert entry["name"] == node.name
        assert entry["ip"] == node.ip
        assert entry["hostname"] == node.hostname
        assert entry["docker_host"] == node.docker_host
        assert entry["engine"] == "running"


def test_up_on_a_running_lab_changes_nothing(fleet3: LabRecord) -> None:
    result = fleetdeck_json("lab", "up", "--nodes", "3", "--server", "--name", fleet3.name)
    assert result["created"] is False
    assert result["created_at"] == fleet3.created_at.isoformat()
    shape = fleetdeck("lab", "up", "--nodes", "2", "--server", "--name", fleet3.name, check=False)
    assert shape.returncode == 5
    assert "already running with 3 nodes" in shape.stderr


def test_container_on_node2_is_visible_only_on_node2(fleet3: LabRecord) -> None:
    n1, n2, n3 = fleet3.nodes
    name = f"only-{uuid.uuid4().hex[:8]}"
    docker(n2, "run", "-d", "--name", name, fleet3.images["web"])
    try:
        assert name in docker(n2, "ps", "--format", "{{.Names}}").split()
        for other in (n1, n3):
            assert name not in docker(other, "ps", "-a", "--format", "{{.Names}}").split()
    finally:
        docker(n2, "rm", "-f", name)


def test_image_pushed_from_node1_runs_on_node3(fleet3: LabRecord) -> None:
    n1, _, n3 = fleet3.nodes
    marker = uuid.uuid4().hex[:10]
    ref = f"{fleet3.registry}/tests/pushed:{marker}"
    docker(n1, "tag", fleet3.images["base"], ref)
    docker(n1, "push", ref)
    out = docker(n3, "run", "--rm", ref, "sh", "-c", f"echo ran-{marker} on $(hostname)")
    assert out.startswith(f"ran-{marker} on ")
    assert ref in docker(n3, "images", "--format", "{{.Repository}}:{{.Tag}}").split()


def test_web_app_answers_logs_and_fails_health_on_demand(fleet3: LabRecord) -> None:
    node = fleet3.nodes[0]
    name = f"web-{uuid.uuid4().hex[:8]}"
    docker(node, "run", "-d", "--name", name, fleet3.images["web"])
    try:
        assert _wait_health(node, name, "healthy")
        hello = docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/hello")
        assert hello.startswith("hello from ")
        docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/log?line=marker42")
        logs = docker(node, "logs", name) + _stderr_logs(node, name)
        assert "app: marker42" in logs
        assert "url:/cgi-bin/hello" in logs  # one line per request
        docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/sick")
        assert _wait_health(node, name, "unhealthy")
        docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/well")
        assert _wait_health(node, name, "healthy")
        docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/cpu?seconds=3")
        docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/mem?mb=40&seconds=5")
        time.sleep(1.5)
        top = docker(node, "top", name, "-o", "pid,args")
        assert "while :; do :; done" in top
        usage = _memory_usage_bytes(node, name)
        assert usage > 40 * 1024 * 1024
    finally:
        docker(node, "rm", "-f", name)


def _stderr_logs(node: object, name: str) -> str:
    import subprocess

    from fleetdeck.lab import NodeRecord

    assert isinstance(node, NodeRecord)
    proc = subprocess.run(
        ["docker", "--host", node.docker_host, "logs", name],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return proc.stderr


def _wait_health(node: object, name: str, wanted: str, timeout: float = 30) -> bool:
    from fleetdeck.lab import NodeRecord

    assert isinstance(node, NodeRecord)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = docker(node, "inspect", "--format", "{{.State.Health.Status}}", name)
        if state == wanted:
            return True
        time.sleep(0.5)
    return False


def _memory_usage_bytes(node: object, name: str) -> int:
    """Read the container's memory cgroup usage directly (the stats API is slow)."""
    from pathlib import Path

    from fleetdeck.lab import NodeRecord

    assert isinstance(node, NodeRecord)
    cid = docker(node, "inspect", "--format", "{{.Id}}", name)
    for path in (
        Path(f"/sys/fs/cgroup/memory/{node.cgroup_parent}/{cid}/memory.usage_in_bytes"),
        Path(f"/sys/fs/cgroup/{node.cgroup_parent}/{cid}/memory.current"),
    ):
        if path.exists():
            return int(path.read_text())
    raise AssertionError(f"no memory cgroup for {name} under {node.cgroup_parent}")


def test_partition_cuts_a_node_off_and_heal_restores_it(fleet3: LabRecord) -> None:
    n1, n2, _ = fleet3.nodes
    registry = f"http://{fleet3.registry}/v2/"
    assert reachable(n1, registry) and reachable(n2, registry)
    fleetdeck("lab", "partition", n2.name, "--name", fleet3.name)
    try:
        assert not reachable(n2, registry)
        assert in_node(n1, "busybox", "ping", "-c", "1", "-W", "1", n2.ip).returncode != 0
        assert reachable(n1, registry)  # the rest of the fleet is unaffected
        status = fleetdeck_json("lab", "status", "--name", fleet3.name)
        assert isinstance(status["nodes"], list)
        assert status["nodes"][1]["network"] == "partitioned"
    finally:
        fleetdeck("lab", "heal", n2.name, "--name", fleet3.name)
    deadline = time.monotonic() + 10
    while not reachable(n2, registry) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert reachable(n2, registry)
    assert in_node(n1, "busybox", "ping", "-c", "1", "-W", "2", n2.ip).returncode == 0


def test_stop_and_start_a_nodes_engine(fleet3: LabRecord) -> None:
    node = fleet3.nodes[2]
    name = f"keep-{uuid.uuid4().hex[:8]}"
    docker(node, "run", "-d", "--restart", "always", "--name", name, fleet3.images["web"])
    try:
        fleetdeck("lab", "stop", node.name, "--name", fleet3.name)
        assert engine_state(node) == "stopped"
        failed = docker(node, "ps", check=False, timeout=10)
        assert failed == ""
        fleetdeck("lab", "start", node.name, "--name", fleet3.name)
        assert engine_state(node) == "running"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if docker(node, "inspect", "--format", "{{.State.Running}}", name) == "true":
                break
            time.sleep(0.5)
        assert docker(node, "inspect", "--format", "{{.State.Running}}", name) == "true"
    finally:
        docker(node, "rm", "-f", name, check=False)


def test_exec_runs_inside_the_node(fleet3: LabRecord) -> None:
    node = fleet3.nodes[1]
    out = fleetdeck(
        "lab",
        "exec",
        node.name,
        "--name",
        fleet3.name,
        "--",
        "sh",
        "-c",
        "hostname; docker info --format '{{.Name}}'",
    ).stdout.split()
    assert out == [node.hostname, node.hostname]


def test_unknown_node_is_a_clear_error(fleet3: LabRecord) -> None:
    proc = fleetdeck("lab", "partition", "node9", "--name", fleet3.name, check=False)
    assert proc.returncode == 4
    assert "has no node 'node9'" in proc.stderr
    assert "node1, node2, node3" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_address_range_in_use_is_refused(fleet3: LabRecord) -> None:
    lab = Lab("tinuse")
    proc = fleetdeck(
        "lab", "up", "--nodes", "1", "--name", lab.name, "--subnet", fleet3.subnet, check=False
    )
    assert proc.returncode == 5
    assert "already in use" in proc.stderr
    assert (
        json.loads(fleetdeck("lab", "status", "--name", lab.name, "-o", "json").stdout)["state"]
        == "absent"
    )
