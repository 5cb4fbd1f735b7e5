"""``fleetdeck lab up --server``: a fleetdeck server on the lab gateway, an agent on every node.

The server runs in the root namespace listening on the gateway address; each node runs an
agent in its own namespace, enrolled with a join token exactly as an operator would do it, so
the lab is a whole fleetdeck deployment to try and to test against.

Agents run as processes (``agent_mode="process"``, the default: quick to start, the
checkout's code) or as containers of the ``fleetdeck/agent`` image built from the repository's
files (``"container"``, see :mod:`fleetdeck.lab.product_images`), started with the operator's
``docker run`` line.
"""

from __future__ import annotations

import secrets
import sys
import time
from typing import TYPE_CHECKING

from fleetdeck.client.client import FleetdeckClient
from fleetdeck.client.config import ClientConfig
from fleetdeck.errors import ExternalCommandError, FleetdeckError
from fleetdeck.lab.state import ServerRecord
from fleetdeck.lab.system import log_tail, run, spawn_daemon
from fleetdeck.pki import write_private

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab.state import LabNames, NodeRecord

SERVER_PORT = 8443
AGENT_PORT = 9001
AGENT_MODES = ("process", "container")
#: The agent container's name and its identity volume, as the operator's line names them.
AGENT_CONTAINER = "fleetdeck-agent"
AGENT_VOLUME = "fleetdeck-agent"
READY_TIMEOUT_S = 60.0
#: The environment every node of a Swarm lab joins (plain labs get one environment per node).
SWARM_ENVIRONMENT = "swarm"


def _wait_health(url: str, ca_cert: Path, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        if ca_cert.exists():
            try:
                with FleetdeckClient(ClientConfig(url=url, ca_cert=str(ca_cert))) as client:
                    client.health()
                    return
            except FleetdeckError as exc:
                last = exc.message
        time.sleep(0.3)
    tail = log_tail(log, 3)
    raise ExternalCommandError(
        f"the lab's fleetdeck server at {url} did not come up: {last}",
        hint=" | ".join(tail) or f"see {log}",
    )


def start_server(names: LabNames, gateway: str) -> ServerRecord:
    """Start the server on the gateway and make an admin API token for tools and tests."""
    data_dir = names.state_dir / "server"
    data_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    password_file = data_dir / "admin-password"
    write_private(password_file, password.encode())
    url = f"https://{gateway}:{SERVER_PORT}"
    log = data_dir / "server.log"
    spawn_daemon(
        [
            "env",
            # A path, not the password: the server's environment is visible in /proc.
            f"FLEETDECK_ADMIN_PASSWORD_FILE={password_file}",
            sys.executable,
            "-m",
            "fleetdeck",
            "server",
            "--data-dir",
            str(data_dir),
            "--listen",
            f"{gateway}:{SERVER_PORT}",
        ],
        str(log),
    )
    ca_cert = data_dir / "ca" / "ca.pem"
    _wait_health(url, ca_cert, log)
    with FleetdeckClient(ClientConfig(url=url, ca_cert=str(ca_cert))) as anon:
        session = anon.login("admin", password)
    with FleetdeckClient(ClientConfig(url=url, ca_cert=str(ca_cert), token=session.token)) as c:
        token = c.create_token("lab").token
    return ServerRecord(
        url=url, ca_cert=str(ca_cert), token=token, data_dir=str(data_dir), admin_password=password
    )


def start_agents(
    names: LabNames,
    nodes: list[NodeRecord],
    server: ServerRecord,
    swarm: bool,
    agent_image: str | None = None,
) -> None:
    """Create environments, enrol an agent on every node, and wait until all report up.

    With ``agent_image`` the agents run as containers of that image, else as processes.
    """
    config = ClientConfig(url=server.url, ca_cert=server.ca_cert, token=server.token)
    with FleetdeckClient(config) as client:
        expected: dict[str, int] = {}
        for i, node in enumerate(nodes):
            env = SWARM_ENVIRONMENT if swarm else node.name
            if swarm and i > 0:
                token = client.create_join_token(env).join_token
            else:
                token = client.create_environment(env, tags=["lab"]).join_token
            expected[env] = expected.get(env, 0) + 1
            if agent_image is None:
                start_agent(names, node, server, token)
            else:
                run(agent_container_argv(node, server.url, token, agent_image), timeout=300)
        wait_agents_up(client, expected)


def agent_argv(node: NodeRecord, server_url: str, token: str, state_dir: Path) -> list[str]:
    """The command that runs a node's agent inside the node's network namespace."""
    return [
        "nsenter", f"--net=/run/netns/{node.netns}", "--",
        # The agent runs on the node as on a host of its own: same hostname as its engine.
        "unshare", "--uts", "--",
        "sh", "-c", 'hostname "$1" && shift && exec "$@"', "sh", node.hostname,
        sys.executable, "-m", "fleetdeck", "agent",
        "--server", server_url, "--join-token", token,
        "--listen", f"{node.ip}:{AGENT_PORT}", "--docker-host", node.docker_host,
        "--state-dir", str(state_dir),
    ]  # fmt: skip


def agent_container_argv(node: NodeRecord, server_url: str, token: str, image: str) -> list[str]:
    """The operator's ``docker run`` line for the agent image, on the node's engine.

    It is the documented line (docs/install.md) word for word but for the socket's host path:
    a lab node's engine listens on its own socket under the lab's run directory, not on
    ``/var/run/docker.sock``; inside the container it is ``/var/run/docker.sock`` all the same.
    With ``--network host`` the container shares the node's network namespace and hostname,
    as on a real host.
    """
    socket = node.docker_host.removeprefix("unix://")
    return [
        "docker", "--host", node.docker_host, "run", "-d", "--name", AGENT_CONTAINER,
        "--restart", "unless-stopped", "--network", "host",
        "-v", f"{socket}:/var/run/docker.sock", "-v", f"{AGENT_VOLUME}:/data",
        "-e", f"FLEETDECK_SERVER={server_url}", "-e", f"FLEETDECK_JOIN_TOKEN={token}",
        image,
    ]  # fmt: skip


def start_agent(names: LabNames, node: NodeRecord, server: ServerRecord, token: str) -> None:
    """Start (enrol) the agent of one node."""
    state_dir = names.state_dir / node.name / "agent"
    state_dir.mkdir(parents=True, exist_ok=True)
    spawn_daemon(agent_argv(node, server.url, token, state_dir), str(state_dir / "agent.log"))


def wait_agents_up(client: FleetdeckClient, expected: dict[str, int]) -> None:
    """Block until every environment has its nodes enrolled and up."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending: list[str] = []
    while time.monotonic() < deadline:
        pending = []
        for env in client.list_environments():
            if env.name in expected:
                up = [n for n in env.nodes if n.status == "up"]
                if len(up) < expected[env.name]:
                    pending.append(f"{env.name} ({len(up)}/{expected[env.name]} up)")
        if not pending and expected:
            return
        time.sleep(0.3)
    raise ExternalCommandError(
        f"lab agents did not come up: {', '.join(pending)}",
        hint="see agent.log under each node's state directory "
        "(or `docker logs fleetdeck-agent` on the node)",
    )
