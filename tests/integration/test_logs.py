"""Fleet-wide logs on a real lab: a search over three nodes, removal, live tail, faults, retention.

Containers print numbered lines with a token unique to the test, so that searches see only
this test's lines and every line can be counted exactly (no loss, no duplicates).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.lab import Lab
from fleetdeck.lab.fleet_server import start_agent
from tests.conftest import client_for, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for
from tests.integration.test_fleet_enrolment import _alive, _server_pids, _start_server
from tests.integration.test_fleet_faults import _agent_pid, _status

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.client import FleetdeckClient
    from fleetdeck.lab import LabRecord, NodeRecord
    from fleetdeck.lab.state import ServerRecord

pytestmark = pytest.mark.lab

CONTRACT_KEYS = {"environment", "node", "container", "stream", "time", "line"}


def printer(
    record: LabRecord, node: NodeRecord, name: str, token: str, count: int, *, stack: str = ""
) -> None:
    """Run a container printing ``TOKEN NAME N`` for N in 1..count (odd N on stderr)."""
    script = (
        f"i=0; while [ $i -lt {count} ]; do i=$((i+1)); "
        f'if [ $((i % 2)) = 1 ]; then echo "{token} {name} $i" >&2; '
        f'else echo "{token} {name} $i"; fi; sleep 0.1; done'
    )
    labels = ["--label", f"com.docker.compose.project={stack}"] if stack else []
    labels += ["--label", f"com.docker.compose.service={name}"] if stack else []
    docker(node, "run", "-d", "--name", name, *labels, record.images["base"], "sh", "-c", script)


def numbers(client: FleetdeckClient, token: str, name: str) -> list[int]:
    """The N of every stored ``TOKEN NAME N`` line (duplicates kept)."""
    hits = client.search_logs(f"{token} {name}", limit=1000).items
    return sorted(int(h.line.rsplit(" ", 1)[1]) for h in hits if h.container == name)


def test_one_search_finds_lines_of_three_nodes_also_after_removal(fleet3: LabRecord) -> None:
    token = f"tok{uuid.uuid4().hex[:10]}"
    names = [f"fdl-{node.name}-{token[-6:]}" for node in fleet3.nodes]
    for node, name in zip(fleet3.nodes, names, strict=True):
        printer(fleet3, node, name, token, 6, stack=f"st{token[-6:]}")
    with client_for(fleet3) as client:

        def three_nodes() -> set[str] | None:
            hits = client.search_logs(token, limit=1000).items
            envs = {h.environment for h in hits}
            return envs if len(hits) == 18 and len(envs) == 3 else None

        found = wait_for("six lines from each of three nodes", three_nodes, timeout=60)
        assert found == {node.name for node in fleet3.nodes}
        stderr = client.search_logs(token, stream="stderr", limit=1000).items
        assert len(stderr) == 9 and all(int(h.line.rsplit(" ", 1)[1]) % 2 for h in stderr)
        one = client.search_logs(token, containers=[names[1]], limit=1000).items
        assert {h.container for h in one} == {names[1]} and len(one) == 6

        for node, name in zip(fleet3.nodes, names, strict=True):
            docker(node, "rm", "-f", name)
        wait_for(
            "the containers gone",
            lambda: all(client.list_containers(name=n).total == 0 for n in names),
        )
        after = client.search_logs(token, stack=f"st{token[-6:]}", limit=1000).items
        assert len(after) == 18 and {h.container for h in after} == set(names)

    hits = fleetdeck_json("logs", "--search", token, env=server_env(fleet3))
    assert len(hits) == 18
    assert all(set(hit) == CONTRACT_KEYS for hit in hits)
    assert {hit["environment"] for hit in hits} == {node.name for node in fleet3.nodes}
    assert hits[0]["time"] <= hits[-1]["time"]  # printed oldest first


def _read_lines(proc: subprocess.Popen[str], into: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        into.put(line)


def test_live_tail_of_a_stack_merges_its_containers(fleet3: LabRecord) -> None:
    token = f"tail{uuid.uuid4().hex[:10]}"
    stack = f"tl{token[-6:]}"
    cmd = [sys.executable, "-m", "fleetdeck", "logs", "-f", "--stack", stack, "-o", "json"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, **server_env(fleet3)}
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(proc, lines), daemon=True)
    reader.start()
    names = [f"fdt-{node.name}-{token[-6:]}" for node in fleet3.nodes]
    try:
        # The containers print for a minute: whenever the tail is connected, lines come.
        for node, name in zip(fleet3.nodes, names, strict=True):
            printer(fleet3, node, name, token, 600, stack=stack)
        docker(fleet3.nodes[0], "run", "-d", "--name", f"other-{token[-6:]}",
               fleet3.images["base"], "sh", "-c", f"echo {token} not in the stack")  # fmt: skip
        seen: list[dict[str, Any]] = []

        def every_container() -> bool:
            while not lines.empty():
                seen.append(json.loads(lines.get()))
            return {hit["container"] for hit in seen} == set(names)

        wait_for("lines of the three containers in one tail", every_container, timeout=60)
        assert all(set(hit) == CONTRACT_KEYS for hit in seen)
        assert all(token in hit["line"] for hit in seen)
        assert not any("not in the stack" in hit["line"] for hit in seen)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
        for node, name in zip(fleet3.nodes, names, strict=True):
            docker(node, "rm", "-f", name, check=False)
        docker(fleet3.nodes[0], "rm", "-f", f"other-{token[-6:]}", check=False)


def test_agent_restart_partition_and_server_restart_lose_and_repeat_nothing(
    fleet3: LabRecord,
) -> None:
    lab = Lab(fleet3.name)
    node1, node2 = fleet3.nodes[0], fleet3.nodes[1]
    server = fleet3.server
    assert server is not None
    token = f"res{uuid.uuid4().hex[:10]}"
    one, two = f"fdr1-{token[-6:]}", f"fdr2-{token[-6:]}"
    count = 300  # about 30 s of lines each, while the faults happen
    printer(fleet3, node1, one, token, count)
    printer(fleet3, node2, two, token, count)
    try:
        with client_for(fleet3) as client:
            wait_for("first lines", lambda: numbers(client, token, one), timeout=30)
            # The agent of node1 dies and comes back with its saved credentials.
            pid = _agent_pid(lab.names.state_dir / node1.name / "agent")
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            wait_for(
                "node1 unreachable",
                lambda: _status(client, node1.name) == "unreachable",
                timeout=60,
            )
            start_agent(lab.names, node1, server, "FDJT-1-" + "0" * 64 + "-used")
            # Generous: on a loaded 2-core machine the agent's start alone took 20 s.
            wait_for("node1 up", lambda: _status(client, node1.name) == "up", timeout=120)
            # node2 is cut off for a while.
            lab.partition(node2.name)
            try:
                wait_for(
                    "node2 unreachable",
                    lambda: _status(client, node2.name) == "unreachable",
                    timeout=60,
                )
            finally:
                lab.heal(node2.name)
            wait_for("node2 up", lambda: _status(client, node2.name) == "up", timeout=120)
        # The server is killed and started again: it resumes from the cursors in logs.db.
        pids = _server_pids(server)
        assert len(pids) == 1
        os.kill(pids[0], signal.SIGKILL)
        wait_for("the killed server gone", lambda: not _alive(pids[0]), timeout=10)
        _start_server(server)
        with client_for(fleet3) as client:
            for name in (one, two):
                wait_for(
                    f"all {count} lines of {name}",
                    lambda n=name: len(numbers(client, token, n)) >= count,  # type: ignore[misc]
                    timeout=240,
                )
                assert numbers(client, token, name) == list(range(1, count + 1))
    finally:
        docker(node1, "rm", "-f", one, check=False)
        docker(node2, "rm", "-f", two, check=False)


@contextlib.contextmanager
def _server_with(server: ServerRecord, extra_env: dict[str, str]) -> Iterator[None]:
    """Run the lab's server with ``extra_env`` (e.g. a short prune interval), then as before."""
    pids = _server_pids(server)
    os.kill(pids[0], signal.SIGTERM)
    wait_for("the server stopped", lambda: not _alive(pids[0]), timeout=30)
    _start_server(server, extra_env)
    try:
        yield
    finally:
        pids = _server_pids(server)
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            wait_for("the server stopped", lambda p=pid: not _alive(p), timeout=30)  # type: ignore[misc]
        _start_server(server)


def test_retention_removes_old_lines(fleet3: LabRecord) -> None:
    server = fleet3.server
    assert server is not None
    token = f"ret{uuid.uuid4().hex[:10]}"
    name = f"fdret-{token[-6:]}"
    # A server keeping lines for 20 s, pruning every second.
    tiny = {
        "FLEETDECK_LOGS_RETENTION_DAYS": str(20 / 86400),
        "FLEETDECK_LOGS_PRUNE_INTERVAL_S": "1",
    }
    with _server_with(server, tiny):
        try:
            docker(fleet3.nodes[2], "run", "-d", "--name", name, fleet3.images["base"], "sh",
                   "-c", f"echo {token} short-lived line; sleep 600")  # fmt: skip
            with client_for(fleet3) as client:
                wait_for(
                    "the line stored",
                    lambda: client.search_logs(token, limit=1000).items,
                    timeout=60,
                )
                stats = client.log_stats()
                assert stats.retention_days == pytest.approx(20 / 86400)
                wait_for(
                    "the line pruned",
                    lambda: not client.search_logs(token, limit=1000).items,
                    timeout=90,
                )
                oldest = client.log_stats().oldest
                assert oldest is None or oldest > datetime.now(UTC) - timedelta(seconds=60)
        finally:
            docker(fleet3.nodes[2], "rm", "-f", name, check=False)


def test_a_container_logging_past_pruning_runs_keeps_its_name_and_stack(
    fleet3: LabRecord,
) -> None:
    """Issue #12: after the first prune, a long-running container's lines lost their source.

    The pruner cleared the store's id cache and the next lines re-registered the container
    without metadata: stored under its id, with no stack or service.
    """
    server = fleet3.server
    assert server is not None
    token = f"okapi{uuid.uuid4().hex[:8]}"
    name, stack = f"fdlong-{token[-6:]}", f"demo{token[-6:]}"
    node = fleet3.nodes[1]
    with _server_with(server, {"FLEETDECK_LOGS_PRUNE_INTERVAL_S": "1"}):
        try:
            script = f'i=0; while true; do i=$((i+1)); echo "{token} $i"; sleep 0.5; done'
            labels = ["--label", f"com.docker.compose.project={stack}"]
            labels += ["--label", "com.docker.compose.service=app"]
            docker(node, "run", "-d", "--name", name, *labels, fleet3.images["base"], "sh", "-c",
                   script)  # fmt: skip
            with client_for(fleet3) as client:

                def logged() -> list[int]:
                    hits = client.search_logs(token, limit=1000).items
                    return [int(h.line.rsplit(" ", 1)[1]) for h in hits]

                wait_for("a first line", logged, timeout=60)
                stored_at = client.search_logs(token, limit=1000).items[-1].time

                def pruned_since() -> bool:
                    last = client.log_stats().last_pruned
                    return last is not None and last > stored_at + timedelta(seconds=1)

                wait_for("two pruning runs after the first line", pruned_since, timeout=60)
                seen = max(logged())
                wait_for(
                    "a line logged after the pruning runs",
                    lambda: max(logged()) > seen + 2,
                    timeout=60,
                )
                # Stop it, so that the searches below all see the same, final lines.
                docker(node, "kill", name)
                last = int(docker(node, "logs", name).split()[-1])
                wait_for("every line stored", lambda: len(logged()) == last, timeout=60)
            env, big = server_env(fleet3), ("--limit", "1000")
            by_stack = fleetdeck_json("logs", "--search", token, "--stack", stack, *big, env=env)
            everything = fleetdeck_json("logs", "--search", token, *big, env=env)
            assert len(by_stack) == len(everything) > seen + 2
            assert {h["container"] for h in everything} == {name}  # not its id
            with client_for(fleet3) as client:
                hits = client.search_logs(token, stack=stack, service="app", limit=1000).items
            assert {(h.container, h.stack, h.service) for h in hits} == {(name, stack, "app")}
            assert len(hits) == last
            by_name = fleetdeck_json("logs", "--search", token, "-c", name, *big, env=env)
            assert len(by_name) == len(everything)
        finally:
            docker(node, "rm", "-f", name, check=False)
