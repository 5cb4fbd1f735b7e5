"""Enrolment, revocation and restarts on a real fleet: real agents, real server, real CLI.

Extra agents run on node1's namespace next to the lab's own one, on other ports and with
their own state dirs (under the test's tmp dir); every process a test starts is stopped and
every environment it adds is removed in ``finally`` blocks, failure or not. The lab's own
server and agents are shared with other tests: a test that kills one starts it again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import ssl
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from fleetdeck import pki
from fleetdeck.client.client import FleetdeckClient
from fleetdeck.client.config import ClientConfig
from fleetdeck.errors import FleetdeckError
from fleetdeck.lab import Lab
from fleetdeck.lab.fleet_server import SERVER_PORT, agent_argv, start_agent
from fleetdeck.lab.system import spawn_daemon
from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord, NodeRecord
    from fleetdeck.lab.state import ServerRecord

pytestmark = pytest.mark.lab

#: A join token of the right shape whose secret the server never issued.
BOGUS_TOKEN = "FDJT-1-" + "0" * 64 + "-not-a-secret"  # noqa: S105


# ---------------------------------------------------------------- processes
def _pids(*needles: str) -> list[int]:
    """Processes whose command line contains every one of ``needles`` (not zombies)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and all(n.encode() in cmdline for n in needles):
            found.append(int(proc.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Agents:
    """Extra agents a test runs on lab nodes (children of the test, each with a log)."""

    def __init__(self, record: LabRecord, root: Path) -> None:
        assert record.server is not None
        self.server = record.server
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, node: NodeRecord, port: int, token: str, name: str) -> AgentProc:
        """Start an agent on ``node`` listening on ``port``, state dir ``root/name``."""
        state_dir = self.root / name
        state_dir.mkdir(parents=True, exist_ok=False)
        argv = agent_argv(node, self.server.url, token, state_dir)
        argv[argv.index("--listen") + 1] = f"{node.ip}:{port}"
        log = state_dir.parent / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own argv
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs.append(proc)
        return AgentProc(proc, state_dir, log, f"https://{node.ip}:{port}")

    def stop_all(self) -> None:
        """Kill every agent still running and reap it."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


class AgentProc:
    """One extra agent: its process, state dir, log and URL."""

    def __init__(self, proc: subprocess.Popen[bytes], state_dir: Path, log: Path, url: str) -> None:
        self.proc = proc
        self.state_dir = state_dir
        self.log = log
        self.url = url

    def wait_exit(self, timeout: float = 60) -> int:
        """Wait for the agent to end by itself; its exit code."""
        return self.proc.wait(timeout=timeout)

    def output(self) -> str:
        """What the agent logged so far."""
        return self.log.read_text(errors="replace")

    def cert_serial(self) -> str:
        """The serial of the certificate the agent enrolled with."""
        return str(pki.load_cert((self.state_dir / "agent.pem").read_bytes()).serial_number)


@pytest.fixture
def agents(fleet3: LabRecord, tmp_path: Path) -> Iterator[Agents]:
    """Extra agents for one test; all killed at its end."""
    started = Agents(fleet3, tmp_path / "agents")
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def env_name(fleet3: LabRecord) -> Iterator[str]:
    """A fresh environment name, removed at the end of the test if it still exists."""
    name = f"enr-{uuid.uuid4().hex[:6]}"
    yield name
    fleetdeck("env", "rm", name, "--yes", env=server_env(fleet3), check=False)


# ---------------------------------------------------------------- server side
def _nodes(client: FleetdeckClient, env: str) -> list[tuple[str, str, str | None]]:
    return [(n.name, n.status, n.agent_url) for n in client.get_environment(env).nodes]


def _wait_one_node_up(client: FleetdeckClient, env: str, url: str) -> str:
    """Wait until ``env`` has exactly one node, up, at ``url``; its name."""

    def probe() -> str | None:
        nodes = _nodes(client, env)
        if len(nodes) == 1 and nodes[0][1] == "up" and nodes[0][2] == url:
            return nodes[0][0]
        return None

    return wait_for(f"{env} with one node up at {url}", probe, timeout=60)


def _healthy(server: ServerRecord) -> bool:
    try:
        with FleetdeckClient(ClientConfig(url=server.url, ca_cert=server.ca_cert)) as anon:
            anon.health()
    except FleetdeckError:
        return False
    return True


def _server_pids(server: ServerRecord) -> list[int]:
    return _pids("fleetdeck", "server", "--data-dir", server.data_dir)


def _start_server(server: ServerRecord, extra_env: dict[str, str] | None = None) -> None:
    """Start the lab's server again as ``start_server`` did (same dir, address; more env)."""
    data_dir = Path(server.data_dir)
    gateway = server.url.removeprefix("https://").rsplit(":", 1)[0]
    spawn_daemon(
        [
            "env",
            # A path, as the lab passes it: the password is never in the server's environment
            # (a later test reads /proc/PID/environ of this same lab server).
            f"FLEETDECK_ADMIN_PASSWORD_FILE={data_dir / 'admin-password'}",
            *(f"{k}={v}" for k, v in (extra_env or {}).items()),
            sys.executable,
            "-m",
            "fleetdeck",
            "server",
            "--data-dir",
            str(data_dir),
            "--listen",
            f"{gateway}:{SERVER_PORT}",
        ],
        str(data_dir / "server.log"),
    )
    # Generous: with six test runs on two cores, a start was seen to take 40 s.
    wait_for("the lab server to answer again", lambda: _healthy(server), timeout=180)


def _ensure_server(server: ServerRecord) -> None:
    if not _server_pids(server) or not _healthy(server):
        _start_server(server)


def _containers(client: FleetdeckClient) -> dict[str, list[str]]:
    """Every environment's container ids (sorted, duplicates kept)."""
    out: dict[str, list[str]] = {}
    for c in client.list_containers(limit=5000).items:
        out.setdefault(c.environment, []).append(c.id)
    return {env: sorted(ids) for env, ids in out.items()}


# ---------------------------------------------------------------- tests
def test_join_token_is_single_use(fleet3: LabRecord, agents: Agents, env_name: str) -> None:
    node1 = fleet3.nodes[0]
    token = fleetdeck_json("env", "add", env_name, env=server_env(fleet3))["join_token"]
    first = agents.start(node1, 9002, token, "first")
    with client_for(fleet3) as client:
        _wait_one_node_up(client, env_name, first.url)
        shown = fleetdeck_json("env", "show", env_name, env=server_env(fleet3))
        assert [(n["name"], n["status"]) for n in shown["nodes"]] == [(node1.hostname, "up")]

        second = agents.start(node1, 9003, token, "second")
        code = second.wait_exit()
        assert code == 3, second.output()  # PermissionDeniedError's exit code
        assert "join token was used already" in second.output()
        assert not (second.state_dir / "agent.pem").exists()
        assert _nodes(client, env_name) == [(node1.hostname, "up", first.url)]
    assert first.proc.poll() is None  # the enrolled agent is unaffected


def test_token_for_another_server_is_refused_before_the_secret_is_sent(
    fleet3: LabRecord, agents: Agents, env_name: str
) -> None:
    node1 = fleet3.nodes[0]
    token = fleetdeck_json("env", "add", env_name, env=server_env(fleet3))["join_token"]
    prefix = pki.JOIN_TOKEN_PREFIX
    fingerprint, secret = token.removeprefix(prefix).split("-", 1)
    other = "f" * 64 if fingerprint != "f" * 64 else "e" * 64
    tampered = agents.start(node1, 9004, f"{prefix}{other}-{secret}", "tampered")
    code = tampered.wait_exit()
    assert code == 3, tampered.output()
    assert "server CA fingerprint does not match the join token" in tampered.output()
    assert not (tampered.state_dir / "agent.key").exists()
    with client_for(fleet3) as client:
        # The agent stopped before POST /agents/enrol: the server has no trace of the attempt.
        attempts = client.audit(action="agent.enrol", target=tampered.url, limit=50)
        assert attempts.total == 0, attempts.items
        assert client.get_environment(env_name).nodes == []
        # The token is still unused: the right agent enrols with it.
        good = agents.start(node1, 9004, token, "good")
        _wait_one_node_up(client, env_name, good.url)
        ok = client.audit(action="agent.enrol", target=f"{env_name}/{node1.hostname}")
        assert [e.result for e in ok.items] == ["ok"]


def test_removed_environment_revokes_and_forgets_its_agent(
    fleet3: LabRecord, agents: Agents, env_name: str
) -> None:
    assert fleet3.server is not None
    server_dir = Path(fleet3.server.data_dir)
    node1 = fleet3.nodes[0]
    token = fleetdeck_json("env", "add", env_name, env=server_env(fleet3))["join_token"]
    agent = agents.start(node1, 9005, token, "revoked")
    with client_for(fleet3) as client:
        _wait_one_node_up(client, env_name, agent.url)
    serial = agent.cert_serial()

    context = ssl.create_default_context(cafile=str(server_dir / "ca" / "ca.pem"))
    context.load_cert_chain(server_dir / "tls" / "server.pem", server_dir / "tls" / "server.key")
    with httpx.Client(verify=context, timeout=5) as as_server:
        # The server's client certificate is what the agent accepts while enrolled.
        assert as_server.get(f"{agent.url}/v1/info").status_code == 200

        fleetdeck("env", "rm", env_name, "--yes", env=server_env(fleet3))

        # The agent got /v1/forget: it deleted its key and certificate and stopped serving.
        assert agent.wait_exit(timeout=30) == 0, agent.output()
        assert "the server revoked this agent" in agent.output()
        assert not (agent.state_dir / "agent.key").exists()
        assert not (agent.state_dir / "agent.pem").exists()
        with pytest.raises(httpx.ConnectError):
            as_server.get(f"{agent.url}/v1/info")

    with contextlib.closing(
        sqlite3.connect(f"file:{server_dir / 'fleetdeck.db'}?mode=ro", uri=True)
    ) as db:
        rows = db.execute("SELECT reason FROM revoked_certs WHERE serial = ?", (serial,)).fetchall()
    assert rows == [(f"environment {env_name} removed",)]

    envs = fleetdeck_json("env", "ls", env=server_env(fleet3))
    assert env_name not in [e["name"] for e in envs]
    proc = fleetdeck("ps", "--env", env_name, env=server_env(fleet3), check=False)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert env_name in proc.stderr


def test_server_restart_converges_without_restarting_agents(fleet3: LabRecord) -> None:
    server = fleet3.server
    assert server is not None
    lab_state = Path(server.data_dir).parent
    agent_dirs = [str(lab_state / n.name / "agent") for n in fleet3.nodes]
    name = f"rst-{uuid.uuid4().hex[:6]}"
    for node in fleet3.nodes:  # something known to run on every node
        docker(node, "run", "-d", "--name", name, fleet3.images["base"], "sleep", "600")
    with client_for(fleet3) as client:
        token = client.create_token(f"pre-restart-{uuid.uuid4().hex[:6]}").token
        envs = sorted(e.name for e in client.list_environments())
        assert {n.name for n in fleet3.nodes} <= set(envs)
        wait_for(
            "every environment up, with the new containers",
            lambda: (
                all(e.status == "up" for e in client.list_environments())
                and client.list_containers(name=name).total == len(fleet3.nodes)
            ),
        )
        before = _containers(client)
    for ids in before.values():
        assert len(ids) == len(set(ids))
    agent_pids = {d: _pids("agent", d) for d in agent_dirs}
    assert all(len(p) == 1 for p in agent_pids.values()), agent_pids

    pids = _server_pids(server)
    assert len(pids) == 1, pids
    try:
        os.kill(pids[0], signal.SIGKILL)
        wait_for("the killed server to be gone", lambda: not _alive(pids[0]), timeout=10)
        assert not _healthy(server)
        _start_server(server)
        with client_for(fleet3, token=token) as client:
            # The API token made before the kill still authenticates.
            assert client.me().username == "admin"
            wait_for(
                "every environment up after the restart",
                lambda: all(e.status == "up" for e in client.list_environments()),
                timeout=60,
            )
            assert sorted(e.name for e in client.list_environments()) == envs
            wait_for(
                "the same containers as before the restart",
                lambda: _containers(client) == before,
                timeout=30,
            )
        # The agents were not restarted: the server reconnected to the same processes.
        assert {d: _pids("agent", d) for d in agent_dirs} == agent_pids
    finally:
        _ensure_server(server)
        for node in fleet3.nodes:
            docker(node, "rm", "-f", name, check=False)


def test_restarted_agent_keeps_its_identity(fleet3: LabRecord) -> None:
    server = fleet3.server
    assert server is not None
    lab = Lab(fleet3.name)
    node = fleet3.nodes[2]
    state_dir = lab.names.state_dir / node.name / "agent"
    pids = _pids("agent", str(state_dir))
    assert len(pids) == 1, pids
    cert = (state_dir / "agent.pem").read_bytes()
    log = state_dir / "agent.log"
    log_start = log.stat().st_size
    try:
        with client_for(fleet3) as client:
            before = _nodes(client, node.name)
            assert [(n, s) for n, s, _ in before] == [(node.hostname, "up")]
            os.kill(pids[0], signal.SIGKILL)
            wait_for(
                f"{node.name} unreachable",
                lambda: client.get_environment(node.name).status == "unreachable",
                timeout=15,
            )
            # The used token is long gone; a bogus one proves it is not even looked at.
            start_agent(lab.names, node, server, BOGUS_TOKEN)
            wait_for(
                f"{node.name} up again",
                lambda: client.get_environment(node.name).status == "up",
                timeout=30,
            )
            assert _nodes(client, node.name) == before
        assert (state_dir / "agent.pem").read_bytes() == cert
        restarted = log.read_text(errors="replace")[log_start:]
        assert "enrolment skipped" in restarted
        assert "error" not in restarted.lower()
    finally:
        if not _pids("agent", str(state_dir)):
            start_agent(lab.names, node, server, BOGUS_TOKEN)
