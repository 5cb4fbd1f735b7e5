"""``local`` environments on a real engine: the lab server runs an agent child for a socket.

The lab's server runs in the root namespace, so a lab node's engine socket is, to it, a local
socket on its own host: node3's engine stands in for "the Docker on the server's host". The
same engine stays enrolled as environment ``node3`` through its own agent; the local
environment is a second view of it, removed at the end of each test.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def _agent_pids(state_dir: Path) -> list[int]:
    """Processes running an agent with ``state_dir`` (read from /proc, as an operator would)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "status").read_text()
        except OSError:
            continue
        if b"fleetdeck.agent" in argv and str(state_dir).encode() in argv:
            if "\nState:\tZ" not in state:
                pids.append(int(proc.name))
    return pids


def _ppid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


@pytest.fixture
def local_env(fleet3: LabRecord) -> Iterator[tuple[str, dict[str, Any]]]:
    """A local environment on node3's engine socket (removed afterwards)."""
    name = f"local-{uuid.uuid4().hex[:6]}"
    created = fleetdeck_json(
        "env",
        "add",
        name,
        "--local",
        "--docker-host",
        fleet3.nodes[2].docker_host,
        env=server_env(fleet3),
    )
    try:
        yield name, created
    finally:
        fleetdeck("env", "rm", name, "--yes", check=False, env=server_env(fleet3))


def test_a_local_environment_shows_the_engines_containers_and_operates_them(
    fleet3: LabRecord, local_env: tuple[str, dict[str, Any]]
) -> None:
    name, created = local_env
    node = fleet3.nodes[2]
    assert created["join_token"] is None and created["agent_command"] is None
    assert created["environment"]["kind"] == "local"
    assert created["environment"]["docker_host"] == node.docker_host
    # Named after the engine's hostname, like an enrolled agent.
    assert created["environment"]["nodes"][0]["name"] == node.hostname
    assert created["environment"]["nodes"][0]["agent_url"].startswith("https://127.0.0.1:")

    container = f"fdl-{uuid.uuid4().hex[:8]}"
    docker(node, "run", "-d", "--name", container, "--label", "suite=local", fleet3.images["web"])
    try:
        with client_for(fleet3) as client:
            wait_for("the local env up", lambda: client.get_environment(name).status == "up")
            shown = fleetdeck_json("env", "show", name, env=server_env(fleet3))
            assert shown["kind"] == "local" and shown["nodes"][0]["status"] == "up"
            listed = {e["name"]: e for e in fleetdeck_json("env", "ls", env=server_env(fleet3))}
            assert listed[name]["kind"] == "local"
            wait_for(
                "the container under the local env",
                lambda: client.list_containers(environment=name, name=container).items,
            )
        rows = fleetdeck_json("ps", "--env", name, "--label", "suite=local", env=server_env(fleet3))
        assert [(r["name"], r["environment"], r["state"]) for r in rows] == [
            (container, name, "running")
        ]

        fleetdeck("stop", f"{name}/{container}", "--time", "1", env=server_env(fleet3))
        assert docker(node, "inspect", "-f", "{{.State.Status}}", container) == "exited"
        fleetdeck("start", f"{name}/{container}", env=server_env(fleet3))
        assert docker(node, "inspect", "-f", "{{.State.Status}}", container) == "running"
        with client_for(fleet3) as client:
            wait_for(
                "the container running again",
                lambda: [
                    c
                    for c in client.list_containers(environment=name, name=container).items
                    if c.state == "running"
                ],
            )
    finally:
        docker(node, "rm", "-f", container, check=False)


def test_removing_a_local_environment_stops_its_agent_and_deletes_its_state(
    fleet3: LabRecord, local_env: tuple[str, dict[str, Any]]
) -> None:
    name, _ = local_env
    assert fleet3.server is not None
    state_dir = Path(fleet3.server.data_dir) / "local-agents" / name
    assert (state_dir / "agent.key").stat().st_mode & 0o777 == 0o600
    pids = wait_for("the local agent process", lambda: _agent_pids(state_dir))
    assert len(pids) == 1
    server_pid = _ppid(pids[0])
    assert b"server" in Path(f"/proc/{server_pid}/cmdline").read_bytes()  # the server's child

    fleetdeck("env", "rm", name, "--yes", env=server_env(fleet3))
    wait_for("the local agent to end", lambda: not _agent_pids(state_dir), timeout=10)
    assert not state_dir.exists()
    envs = fleetdeck_json("env", "ls", env=server_env(fleet3))
    assert name not in {e["name"] for e in envs}


def test_bad_local_environments_are_refused(
    fleet3: LabRecord, local_env: tuple[str, dict[str, Any]]
) -> None:
    missing = fleetdeck(
        "env",
        "add",
        "nowhere",
        "--local",
        "--docker-host",
        "unix:///run/no-such-engine/docker.sock",
        check=False,
        env=server_env(fleet3),
    )
    assert missing.returncode == 2, missing.stderr
    assert "no Docker socket at /run/no-such-engine/docker.sock" in missing.stderr

    name, _ = local_env
    duplicate = fleetdeck(
        "env",
        "add",
        "twice",
        "--local",
        "--docker-host",
        fleet3.nodes[2].docker_host,
        check=False,
        env=server_env(fleet3),
    )
    assert duplicate.returncode == 5, duplicate.stderr  # conflict
    assert name in duplicate.stderr
    envs = fleetdeck_json("env", "ls", env=server_env(fleet3))
    assert not {"nowhere", "twice"} & {e["name"] for e in envs}
