"""fleetdeck's own images on a real lab (issue #14, done-when (b) and (c)).

One lab for the whole module: 3 nodes, the lab's server, and on every node the agent as a
container of ``fleetdeck/agent`` built from this repository's Dockerfile and started with the
operator's ``docker run`` line (``Lab.up(agent_mode="container")``). The same lab carries the
server image's test: a ``fleetdeck/server`` container with its ``/data`` volume on node1.

Time: the images are built once per source tree and cached as a tarball
(:mod:`fleetdeck.lab.product_images`): with a warm cache the module fixture costs a plain
lab with a server plus a ``docker load``, a push and the agents' parallel pull (75-90 s
measured; ~3.4 min for the whole file with its teardown). A cold cache adds the build
(~80 s on an idle machine, 6 min measured under a load average of 15 on 2 cores) and, once
per machine, the debootstrap base (~45 s). The tests take 3-40 s each; the server recreate
test (~40 s) starts the server container twice (migrations, CA, TLS) and enrols an agent.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import uuid
from typing import TYPE_CHECKING

import pytest

from fleetdeck import __version__
from fleetdeck.client.client import FleetdeckClient
from fleetdeck.client.config import ClientConfig
from fleetdeck.errors import FleetdeckError
from fleetdeck.lab import Lab, LabRecord
from fleetdeck.lab.fleet_server import AGENT_CONTAINER
from fleetdeck.wire.auth import Role
from tests.conftest import client_for, fleetdeck, fleetdeck_json, lab_name, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fleetdeck.lab import NodeRecord

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def images3() -> Iterator[LabRecord]:
    """A 3-node lab whose agents run as containers of the repository's agent image."""
    lab = Lab(lab_name("images"))
    record, _ = lab.up(nodes=3, server=True, agent_mode="container")
    yield record
    lab.down()


def _inspect(node: NodeRecord, name: str) -> dict[str, object]:
    data = json.loads(docker(node, "inspect", name))
    assert isinstance(data, list)
    result: dict[str, object] = data[0]
    return result


def _compose(image: str, command: str = "sleep 3600") -> str:
    return f"""
services:
  app:
    image: {image}
    command: ["sh", "-c", "{command}"]
    environment:
      DB_PASSWORD: ${{DB_PASSWORD}}
"""


# ------------------------------------------------------------------ (b) agents as containers
def test_every_agent_is_a_container_of_the_repository_image(images3: LabRecord) -> None:
    image = images3.images["fleetdeck_agent"]
    assert image == f"{images3.registry}/fleetdeck/agent:{__version__}"
    envs = {e["name"]: e for e in fleetdeck_json("env", "ls", env=server_env(images3))}
    for node in images3.nodes:
        info = _inspect(node, AGENT_CONTAINER)
        config, host = info["Config"], info["HostConfig"]
        assert isinstance(config, dict) and isinstance(host, dict)
        assert config["Image"] == image
        labels = config["Labels"]
        assert labels["org.opencontainers.image.version"] == __version__
        assert len(labels["org.opencontainers.image.revision"]) == 40
        assert config["Healthcheck"]["Test"][-2:] == ["fleetdeck.healthcheck", "agent"]
        # The engine's socket is mounted, never published: host network, no port bindings.
        assert host["NetworkMode"] == "host" and not host.get("PortBindings")
        assert host["RestartPolicy"]["Name"] == "unless-stopped"
        mounts = {m["Destination"]: m for m in info["Mounts"]}  # type: ignore[attr-defined]
        assert mounts["/var/run/docker.sock"]["Type"] == "bind"
        assert mounts["/data"]["Name"] == "fleetdeck-agent"
        # The image's HEALTHCHECK command passes (Docker runs it only every 30 s).
        docker(node, "exec", AGENT_CONTAINER, "python", "-m", "fleetdeck.healthcheck", "agent")
        env = envs[node.name]
        assert env["status"] == "up"
        assert env["nodes"][0]["hostname"] == node.hostname
        assert env["nodes"][0]["address"] == node.ip


def test_fleet_operations_through_container_agents(images3: LabRecord) -> None:
    env = server_env(images3)
    names = [f"img-{uuid.uuid4().hex[:8]}" for _ in images3.nodes]
    for node, name in zip(images3.nodes, names, strict=True):
        docker(node, "run", "-d", "--name", name, "--label", "suite=images", images3.images["web"])
    try:
        with client_for(images3) as client:
            wait_for(
                "a container on every node",
                lambda: all(client.list_containers(name=n).total == 1 for n in names),
            )
            rows = fleetdeck_json("ps", "-a", "--label", "suite=images", env=env)
            assert {(r["name"], r["environment"]) for r in rows} == {
                (n, node.name) for n, node in zip(names, images3.nodes, strict=True)
            }
            node, ref = images3.nodes[1], f"{images3.nodes[1].name}/{names[1]}"

            def state() -> str:
                return docker(node, "inspect", "--format", "{{.State.Status}}", names[1])

            fleetdeck("stop", "-t", "1", ref, env=env)
            assert state() == "exited"
            wait_for(
                "exited in the inventory",
                lambda: client.list_containers(name=names[1], state="exited").total == 1,
            )
            client.start_container(ref)
            assert state() == "running"
            started = docker(node, "inspect", "--format", "{{.State.StartedAt}}", names[1])
            client.restart_container(ref, timeout=1)
            assert state() == "running"
            assert docker(node, "inspect", "--format", "{{.State.StartedAt}}", names[1]) != started
            result = fleetdeck("exec", ref, "--", "sh", "-c", "echo out-$((6*7)); exit 3",
                               env=env, check=False)  # fmt: skip
            assert result.returncode == 3 and "out-42" in result.stdout
            client.exec(ref, ["wget", "-qO-", "http://127.0.0.1/cgi-bin/log?line=via-image"])
            wait_for(
                "the logged line",
                lambda: any("app: via-image" in ln.line for ln in client.logs(ref, tail=50)),
            )
    finally:
        for node, name in zip(images3.nodes, names, strict=True):
            docker(node, "rm", "-f", name, check=False)


def test_stack_deploy_through_a_container_agent(images3: LabRecord, tmp_path: Path) -> None:
    env, node = server_env(images3), images3.nodes[2]
    stack = f"i{uuid.uuid4().hex[:6]}"
    path = tmp_path / "compose.yaml"
    path.write_text(_compose(images3.images["base"]))
    fleetdeck("stack", "vars", "set", stack, "DB_PASSWORD", "--secret", "--value-stdin",
              env=env, stdin="s3cret-value")  # fmt: skip
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
    try:
        container = f"{stack}-app-1"
        assert docker(node, "inspect", "--format", "{{.State.Status}}", container) == "running"
        assert docker(node, "exec", container, "sh", "-c", "echo $DB_PASSWORD") == "s3cret-value"
        rows = fleetdeck_json("stack", "ps", stack, env=env)
        assert [r["service"] for r in rows] == ["app"]
    finally:
        fleetdeck("stack", "rm", stack, "-y", env=env)


def test_a_recreated_agent_container_keeps_its_identity(images3: LabRecord) -> None:
    """Remove the agent container and run it again with its volume but no token: it is back."""
    node = images3.nodes[0]
    image = images3.images["fleetdeck_agent"]
    socket = node.docker_host.removeprefix("unix://")
    docker(node, "rm", "-f", AGENT_CONTAINER)
    with client_for(images3) as client:
        wait_for("node1 unreachable", lambda: _status(client, node.name) != "up", timeout=30)
        docker(node, "run", "-d", "--name", AGENT_CONTAINER, "--restart", "unless-stopped",
               "--network", "host", "-v", f"{socket}:/var/run/docker.sock",
               "-v", "fleetdeck-agent:/data", image)  # fmt: skip
        wait_for("node1 up again", lambda: _status(client, node.name) == "up", timeout=60)
    logs = subprocess.run(  # the agent logs to stderr
        ["docker", "--host", node.docker_host, "logs", AGENT_CONTAINER],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert "credentials found in /data: enrolment skipped" in logs.stderr


def _status(client: FleetdeckClient, env: str) -> str:
    return next(e.status for e in client.list_environments() if e.name == env)


# --------------------------------------------------- (c) the server container and its volume
SERVER = "fleetdeck-server"
SERVER_VOLUME = "fleetdeck-server"
SECOND_AGENT = "fleetdeck-agent-2"


def _run_server(node: NodeRecord, image: str, password: str) -> None:
    docker(node, "run", "-d", "--name", SERVER, "--restart", "unless-stopped",
           "-p", "8443:8443", "-v", f"{SERVER_VOLUME}:/data",
           "-e", f"FLEETDECK_ADMIN_PASSWORD={password}",
           "-e", f"FLEETDECK_PUBLIC_HOSTS={node.ip}", image)  # fmt: skip


def _server_client(node: NodeRecord, ca: Path, token: str | None = None) -> FleetdeckClient:
    return FleetdeckClient(
        ClientConfig(url=f"https://{node.ip}:8443", ca_cert=str(ca), token=token)
    )


def _wait_server(node: NodeRecord, tmp_path: Path) -> Path:
    """Wait until the container's server answers over TLS; return its CA (copied out)."""
    ca = tmp_path / "ca.pem"

    def answers() -> bool:
        ca.unlink(missing_ok=True)
        docker(node, "cp", f"{SERVER}:/data/ca/ca.pem", str(ca), check=False)
        if not ca.exists():
            return False
        try:
            with _server_client(node, ca) as client:
                return client.health().status == "ok"
        except FleetdeckError:
            return False

    wait_for("the server container", answers, timeout=90)
    return ca


def test_server_container_keeps_its_data_across_a_recreate(
    images3: LabRecord, tmp_path: Path
) -> None:
    """(c): users, environments, stacks and secrets survive ``docker rm -f`` + ``run``."""
    node, agent_node = images3.nodes[0], images3.nodes[1]
    image = images3.images["fleetdeck_server"]
    password = secrets.token_urlsafe(12)
    _run_server(node, image, password)
    try:
        ca = _wait_server(node, tmp_path)
        assert docker(node, "exec", SERVER, "id", "-u") == "10001"
        docker(node, "exec", SERVER, "python", "-m", "fleetdeck.healthcheck", "server")
        with _server_client(node, ca) as anon:
            session = anon.login("admin", password)
        with _server_client(node, ca, session.token) as admin:
            admin.create_user("olga", "olga-password-1", Role.operator)
            join = admin.create_environment("edge", tags=["vps"]).join_token
        # A second agent container on node2 (port 9002: node2's own agent has 9001).
        socket = agent_node.docker_host.removeprefix("unix://")
        docker(agent_node, "run", "-d", "--name", SECOND_AGENT, "--network", "host",
               "-v", f"{socket}:/var/run/docker.sock", "-v", f"{SECOND_AGENT}:/data",
               "-e", "FLEETDECK_AGENT_LISTEN=0.0.0.0:9002",
               "-e", f"FLEETDECK_SERVER=https://{node.ip}:8443",
               "-e", f"FLEETDECK_JOIN_TOKEN={join}", images3.images["fleetdeck_agent"])  # fmt: skip
        env = {"FLEETDECK_URL": f"https://{node.ip}:8443", "FLEETDECK_CA_CERT": str(ca),
               "FLEETDECK_TOKEN": session.token}  # fmt: skip
        with _server_client(node, ca, session.token) as admin:
            wait_for("edge up", lambda: _status(admin, "edge") == "up", timeout=60)
        stack = f"p{uuid.uuid4().hex[:6]}"
        compose = tmp_path / "compose.yaml"
        compose.write_text(_compose(images3.images["base"]))
        fleetdeck("stack", "vars", "set", stack, "DB_PASSWORD", "--secret", "--value-stdin",
                  env=env, stdin="kept-secret")  # fmt: skip
        fleetdeck("stack", "deploy", stack, "-f", str(compose), "--env", "edge", env=env)

        first_ca = ca.read_bytes()
        docker(node, "rm", "-f", SERVER)
        _run_server(node, image, "another-password-ignored")
        assert _wait_server(node, tmp_path).read_bytes() == first_ca
        with _server_client(node, ca) as anon:
            session = anon.login("admin", password)  # the first start's password still works
        env["FLEETDECK_TOKEN"] = session.token
        with _server_client(node, ca, session.token) as admin:
            assert "olga" in {u.username for u in admin.list_users()}
            wait_for("edge up after the recreate", lambda: _status(admin, "edge") == "up", 60)
            assert [s["name"] for s in admin.list_stacks()] == [stack]
            variables = admin.stack_variables(stack)
            assert [(v["key"], v["value"]) for v in variables] == [("DB_PASSWORD", None)]
        # The secret still decrypts (the master key is on the volume): nothing to change.
        plan = fleetdeck_json("stack", "diff", stack, env=env)
        assert [c["action"] for c in plan] == ["unchanged"], plan
        container = f"{stack}-app-1"
        assert docker(agent_node, "exec", container, "sh", "-c", "echo $DB_PASSWORD") == (
            "kept-secret"
        )
        fleetdeck("stack", "rm", stack, "-y", env=env)
    finally:
        docker(node, "rm", "-f", SERVER, check=False)
        docker(node, "volume", "rm", SERVER_VOLUME, check=False)
        docker(agent_node, "rm", "-f", SECOND_AGENT, check=False)
        docker(agent_node, "volume", "rm", SECOND_AGENT, check=False)
