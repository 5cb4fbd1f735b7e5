"""The fleet core on a real 3-node lab: inventory and container operations through CLI/client."""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

from fleetdeck.errors import NotFoundError
from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord
    from fleetdeck.wire.containers import Container, LogLine

pytestmark = pytest.mark.lab


def _run_web(record: LabRecord, node_index: int, prefix: str = "fd") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    docker(
        record.nodes[node_index],
        "run",
        "-d",
        "--name",
        name,
        "--label",
        "suite=fleet",
        record.images["web"],
    )
    return name


def test_every_node_is_an_environment_that_is_up(fleet3: LabRecord) -> None:
    envs = fleetdeck_json("env", "ls", env=server_env(fleet3))
    by_name = {e["name"]: e for e in envs}
    assert {"node1", "node2", "node3"} <= set(by_name)
    for node in fleet3.nodes:
        env = by_name[node.name]
        assert env["status"] == "up"
        assert env["nodes"][0]["hostname"] == node.hostname
        assert env["nodes"][0]["address"] == node.ip


def test_ps_lists_containers_of_all_nodes_with_stable_keys(fleet3: LabRecord) -> None:
    names = [_run_web(fleet3, i) for i in range(3)]
    try:
        with client_for(fleet3) as client:
            wait_for(
                "all three containers",
                lambda: all(client.list_containers(name=n).total == 1 for n in names),
            )
        rows = fleetdeck_json("ps", "-a", "--label", "suite=fleet", env=server_env(fleet3))
        assert isinstance(rows, list)
        mine = {r["name"]: r for r in rows if r["name"] in names}
        assert set(mine) == set(names)
        for i, name in enumerate(names):
            row = mine[name]
            assert {"id", "name", "environment", "node", "state", "image", "health"} <= set(row)
            assert row["environment"] == fleet3.nodes[i].name
            assert row["image"] == fleet3.images["web"]
            assert row["state"] == "running"
    finally:
        for i, name in enumerate(names):
            docker(fleet3.nodes[i], "rm", "-f", name)


def test_ps_status_text_counts_from_the_start_time_when_shown(fleet3: LabRecord) -> None:
    """Issue #12: ``ps`` said "Up 2 seconds (healthy)" for as long as the container ran."""
    name = _run_web(fleet3, 0)
    env = server_env(fleet3)
    try:
        with client_for(fleet3) as client:

            def healthy() -> Container | None:
                page = client.list_containers(name=name).items
                return page[0] if page and page[0].health == "healthy" else None

            started = wait_for("the web container healthy", healthy, timeout=60).started_at
            assert started is not None
            # Nothing changes from here on, so the engine's text is never read again.
            wait_for("8 s of running", lambda: datetime.now(UTC) - started > timedelta(seconds=8))
        row = next(r for r in fleetdeck_json("ps", "--name", name, env=env) if r["name"] == name)
        # At least 8 seconds (or, on a very slow machine, a minute or more) — never less.
        shape = r"Up (\d+ seconds|About a minute|\d+ minutes) \(healthy\)"
        found = re.fullmatch(shape, row["status"])
        assert found is not None, row
        assert not found[1].endswith(" seconds") or int(found[1].split()[0]) >= 8, row
    finally:
        docker(fleet3.nodes[0], "rm", "-f", name)


def test_docker_run_and_rm_show_up_in_the_inventory(fleet3: LabRecord) -> None:
    node = fleet3.nodes[1]
    with client_for(fleet3) as client:
        name = _run_web(fleet3, 1)
        found = wait_for("the new container", lambda: client.list_containers(name=name).items)
        assert found[0].environment == node.name
        wait_for(
            "health to be reported",
            lambda: client.list_containers(name=name, health="healthy").total == 1,
        )
        docker(node, "rm", "-f", name)
        wait_for("the removal", lambda: client.list_containers(name=name).total == 0)


def test_container_operations_through_the_cli(fleet3: LabRecord) -> None:
    env = server_env(fleet3)
    node = fleet3.nodes[0]
    name = _run_web(fleet3, 0)
    ref = f"{node.name}/{name}"
    with client_for(fleet3) as client:
        wait_for("container", lambda: client.list_containers(name=name).total == 1)

        def state() -> str:
            return docker(node, "inspect", "--format", "{{.State.Status}}", name)

        fleetdeck("stop", "-t", "1", ref, env=env)
        assert state() == "exited"
        wait_for(
            "exited in inventory",
            lambda: client.list_containers(name=name, state="exited").total == 1,
        )
        fleetdeck("start", ref, env=env)
        assert state() == "running"
        fleetdeck("pause", ref, env=env)
        assert state() == "paused"
        fleetdeck("unpause", ref, env=env)
        fleetdeck("restart", "-t", "1", ref, env=env)
        assert state() == "running"
        fleetdeck("kill", ref, env=env)
        assert state() == "exited"
        new_name = f"{name}-renamed"
        fleetdeck("rename", ref, new_name, env=env)
        wait_for("renamed", lambda: client.list_containers(name=new_name).total == 1)
        fleetdeck("rm", f"{node.name}/{new_name}", env=env)
        assert docker(node, "ps", "-a", "--filter", f"name={new_name}", "-q") == ""
        wait_for("removed", lambda: client.list_containers(name=new_name).total == 0)
        audit = client.audit(limit=50).items
        actions = {(a.action, a.result) for a in audit if name in a.target}
        assert ("container.stop", "ok") in actions and ("container.kill", "ok") in actions


def test_inspect_logs_stats_and_exec(fleet3: LabRecord) -> None:
    env = server_env(fleet3)
    name = _run_web(fleet3, 2)
    ref = f"{fleet3.nodes[2].name}/{name}"
    try:
        with client_for(fleet3) as client:
            wait_for("container", lambda: client.list_containers(name=name).total == 1)
            inspect = fleetdeck_json("inspect", ref, env=env)
            assert inspect["Name"] == f"/{name}"
            result = fleetdeck(
                "exec", ref, "--", "sh", "-c", "echo out-$((6*7)); exit 3", env=env, check=False
            )
            assert result.returncode == 3
            assert "out-42" in result.stdout
            client.exec(ref, ["wget", "-qO-", "http://127.0.0.1/cgi-bin/log?line=first"])
            lines = [ln.line for ln in client.logs(ref, tail=50)]
            assert any("app: first" in line for line in lines)
            stats = client.stats(ref)
            assert stats.memory_usage > 0 and stats.pids >= 1

            seen: list[LogLine] = []

            def follow() -> None:
                with client_for(fleet3) as c2:
                    for line in c2.logs(ref, follow=True, tail=0):
                        seen.append(line)
                        if "app: followed" in line.line:
                            return

            reader = threading.Thread(target=follow, daemon=True)
            reader.start()
            time.sleep(1.0)
            client.exec(ref, ["wget", "-qO-", "http://127.0.0.1/cgi-bin/log?line=followed"])
            reader.join(timeout=15)
            assert any("app: followed" in ln.line for ln in seen)
            tail = fleetdeck("logs", ref, "--tail", "5", env=env)
            # The healthcheck's request lines go to stderr: the last 5 may all be there.
            assert (tail.stdout + tail.stderr).strip()
    finally:
        docker(fleet3.nodes[2], "rm", "-f", name)


def test_unknown_container_and_environment_are_clear_errors(fleet3: LabRecord) -> None:
    env = server_env(fleet3)
    proc = fleetdeck("stop", "node1/no-such-container", env=env, check=False)
    assert proc.returncode == 4
    assert "no container 'no-such-container'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = fleetdeck("ps", "--env", "nowhere", env=env, check=False)
    assert proc.returncode == 4 and "no environment 'nowhere'" in proc.stderr
    with client_for(fleet3) as client, pytest.raises(NotFoundError):
        client.inspect_container("nowhere/x")
    bad = fleetdeck("ps", "--sort", "bogus", env=env, check=False)
    assert bad.returncode == 2 and "cannot sort by 'bogus'" in bad.stderr
    # Issue #12: these printed an empty table and exited 0.
    for flag, valid in (("--state", "running, exited"), ("--health", "healthy, unhealthy")):
        bad = fleetdeck("ps", flag, "bogus", env=env, check=False)
        assert bad.returncode == 2, bad
        assert f"unknown {flag[2:]} 'bogus'" in bad.stderr and valid in bad.stderr
    server = fleet3.server
    assert server is not None
    reply = httpx.get(
        f"{server.url}/api/v1/containers",
        params={"state": "bogus"},
        headers={"Authorization": f"Bearer {server.token}"},
        verify=ssl.create_default_context(cafile=server.ca_cert),
    )
    assert reply.status_code == 422 and reply.json()["error"] == "invalid_input"


def test_env_add_returns_a_join_token(fleet3: LabRecord) -> None:
    env = server_env(fleet3)
    name = f"extra-{uuid.uuid4().hex[:6]}"
    created = fleetdeck_json("env", "add", name, "--tag", "test", env=env)
    try:
        assert created["join_token"].startswith("FDJT-1-")
        assert "fleetdeck agent --server" in created["agent_command"]
        shown = fleetdeck_json("env", "show", name, env=env)
        assert shown["status"] == "pending" and shown["tags"] == ["test"]
        dup = fleetdeck("env", "add", name, env=env, check=False)
        assert dup.returncode == 5
    finally:
        fleetdeck("env", "rm", name, "--yes", env=env, check=False)
    listed = [e["name"] for e in fleetdeck_json("env", "ls", env=env)]
    assert name not in listed
    assert json.dumps(created)  # JSON output is plain data
