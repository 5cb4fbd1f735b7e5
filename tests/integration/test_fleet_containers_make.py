"""Recreate (with a fresh pull) and create containers, on a real 3-node lab, through the CLI."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.container_spec import ContainerSpec
from fleetdeck.errors import PermissionDeniedError
from fleetdeck.wire.auth import Role
from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord
    from fleetdeck.lab.state import NodeRecord

pytestmark = pytest.mark.lab


def _inspect(node: NodeRecord, ref: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = json.loads(docker(node, "inspect", ref))
    return found[0]


def _names(node: NodeRecord) -> list[str]:
    return docker(node, "ps", "-a", "--format", "{{.Names}}").split()


def _seen(record: LabRecord, name: str) -> None:
    with client_for(record) as client:
        wait_for(name, lambda: client.list_containers(name=name, state="running").total == 1)


def _token_of(record: LabRecord, role: Role) -> str:
    """An API token of a new user with ``role``."""
    user, password = f"{role.value}{uuid.uuid4().hex[:6]}", "a-long-password-1"
    with client_for(record) as admin:
        admin.create_user(user, password, role)
    with client_for(record, token="") as anon:
        session = anon.login(user, password)
    with client_for(record, token=session.token) as me:
        return me.create_token("t").token


@pytest.fixture
def pushed(fleet3: LabRecord) -> Iterator[str]:
    """A tag of its own in the lab registry, holding web v1 for now."""
    ref = f"{fleet3.registry}/tests/recreate-{uuid.uuid4().hex[:8]}:current"
    node = fleet3.nodes[0]
    docker(node, "tag", fleet3.images["web"], ref)
    docker(node, "push", ref)
    yield ref
    docker(node, "rmi", "-f", ref, check=False)


def test_recreate_pulls_the_image_and_keeps_the_configuration(
    fleet3: LabRecord, pushed: str
) -> None:
    node = fleet3.nodes[0]
    m = uuid.uuid4().hex[:8]
    name, net1, net2, vol = f"rc-{m}", f"rcnet1-{m}", f"rcnet2-{m}", f"rcvol-{m}"
    docker(node, "network", "create", net1)
    docker(node, "network", "create", net2)
    docker(node, "run", "-d", "--name", name, "-e", "GREETING=hello", "-e", "DB_PASSWORD=s3cret",
           "-v", f"{vol}:/data", "-p", "80", "--network", net1, "--network-alias", "front",
           "--restart", "unless-stopped", "--label", "suite=recreate", pushed)  # fmt: skip
    docker(node, "network", "connect", "--alias", "side", net2, name)
    docker(node, "exec", name, "sh", "-c", "echo kept > /data/marker")
    old = _inspect(node, name)
    # v2 is pushed under the same tag: only a fresh pull sees it.
    docker(node, "tag", fleet3.images["web_v2"], pushed)
    docker(node, "push", pushed)
    docker(node, "tag", fleet3.images["web"], pushed)  # the node itself still has v1 there
    try:
        _seen(fleet3, name)
        # -t 1: the lab's httpd, pid 1, ignores SIGTERM; no need to wait 10 s for the kill.
        out = fleetdeck_json(
            "recreate", f"{node.name}/{name}", "--pull", "-t", "1", env=server_env(fleet3)
        )
        new = _inspect(node, name)
        assert out[0]["container"]["id"] == new["Id"] != old["Id"]
        assert old["Id"] not in docker(node, "ps", "-aq", "--no-trunc").split()
        assert new["State"]["Status"] == "running"
        assert new["Image"] == _inspect(node, fleet3.images["web_v2"])["Id"] != old["Image"]
        env = new["Config"]["Env"]
        assert {"GREETING=hello", "DB_PASSWORD=s3cret", "WEB_VERSION=2"} <= set(env)
        assert "WEB_VERSION=1" not in env  # the old image's default did not stick
        assert new["Config"]["Labels"]["suite"] == "recreate"
        assert new["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        assert new["HostConfig"]["PortBindings"] == old["HostConfig"]["PortBindings"]
        nets = new["NetworkSettings"]["Networks"]
        assert set(nets) == {net1, net2}
        assert "front" in nets[net1]["Aliases"] and "side" in nets[net2]["Aliases"]
        assert nets[net1]["IPAddress"]
        assert [m["Name"] for m in new["Mounts"]] == [vol]
        assert docker(node, "exec", name, "cat", "/data/marker") == "kept"
        assert not [n for n in _names(node) if n.startswith(name + ".")]
    finally:
        docker(node, "rm", "-f", name, check=False)
        docker(node, "volume", "rm", vol, check=False)
        for net in (net1, net2):
            docker(node, "network", "rm", net, check=False)


def test_a_failing_pull_leaves_the_old_container_running(fleet3: LabRecord) -> None:
    node = fleet3.nodes[1]
    name = f"rcfail-{uuid.uuid4().hex[:8]}"
    absent = f"{fleet3.registry}/tests/never-pushed-{uuid.uuid4().hex[:8]}:1"
    docker(node, "pull", fleet3.images["web"])
    docker(node, "tag", fleet3.images["web"], absent)  # on the node, not in the registry
    docker(node, "run", "-d", "--name", name, absent)
    old = _inspect(node, name)
    try:
        _seen(fleet3, name)
        proc = fleetdeck("recreate", f"{node.name}/{name}", "--pull",
                         env=server_env(fleet3), check=False)  # fmt: skip
        assert proc.returncode != 0
        assert "pulling" in proc.stderr and absent in proc.stderr
        now = _inspect(node, name)
        assert now["Id"] == old["Id"] and now["State"]["Status"] == "running"
        assert now["State"]["StartedAt"] == old["State"]["StartedAt"]
        assert not [n for n in _names(node) if n.startswith(name + ".")]
    finally:
        docker(node, "rm", "-f", name, check=False)
        docker(node, "rmi", absent, check=False)


def test_an_interrupted_recreate_converges_on_the_next(fleet3: LabRecord) -> None:
    """The states a recreate killed half-way leaves behind end well at the next recreate."""
    node = fleet3.nodes[2]
    web = fleet3.images["web"]
    backwards, forwards = f"rcb-{uuid.uuid4().hex[:8]}", f"rcf-{uuid.uuid4().hex[:8]}"
    # Killed after creating the new one: NAME still the old one, NAME.fd-new unused.
    docker(node, "run", "-d", "--name", backwards, "-e", "MINE=1", web)
    docker(node, "create", "--name", backwards + ".fd-new", web)
    # Killed after the swap of names: NAME the new one (created), NAME.fd-old still running.
    docker(node, "run", "-d", "--name", forwards + ".fd-old", web)
    docker(node, "create", "--name", forwards, "-e", "MINE=2", web)
    try:
        _seen(fleet3, backwards)
        with client_for(fleet3) as client:
            wait_for(forwards, lambda: client.list_containers(name=forwards).total >= 1)
        for name, mine in ((backwards, "MINE=1"), (forwards, "MINE=2")):
            fleetdeck("recreate", f"{node.name}/{name}", "-t", "1", env=server_env(fleet3))
            now = _inspect(node, name)
            assert now["State"]["Status"] == "running" and mine in now["Config"]["Env"]
            assert not [n for n in _names(node) if n.startswith(name + ".")]
    finally:
        for name in (backwards, forwards):
            for suffix in ("", ".fd-new", ".fd-old"):
                docker(node, "rm", "-f", name + suffix, check=False)


def test_recreate_refuses_a_container_of_a_fleetdeck_stack(fleet3: LabRecord) -> None:
    node = fleet3.nodes[0]
    name = f"rcstack-{uuid.uuid4().hex[:8]}"
    docker(node, "run", "-d", "--name", name, "--label", "com.docker.compose.project=shop",
           "--label", "io.fleetdeck.stack.revision=3", fleet3.images["web"])  # fmt: skip
    old = _inspect(node, name)
    try:
        _seen(fleet3, name)
        proc = fleetdeck("recreate", f"{node.name}/{name}", env=server_env(fleet3), check=False)
        assert proc.returncode != 0 and "stack deploy" in proc.stderr
        assert _inspect(node, name)["Id"] == old["Id"]
    finally:
        docker(node, "rm", "-f", name, check=False)


def test_viewer_reads_inspect_with_secrets_masked(fleet3: LabRecord) -> None:
    node = fleet3.nodes[1]
    name = f"mask-{uuid.uuid4().hex[:8]}"
    docker(node, "run", "-d", "--name", name, "-e", "API_TOKEN=abc123", "-e", "COLOUR=blue",
           "-e", "DATABASE_URL=postgres://app:hunter2@db/app", fleet3.images["web"])  # fmt: skip
    try:
        _seen(fleet3, name)
        ref = f"{node.name}/{name}"
        viewer = {**server_env(fleet3), "FLEETDECK_TOKEN": _token_of(fleet3, Role.viewer)}
        env = json.loads(fleetdeck("inspect", ref, env=viewer).stdout)["Config"]["Env"]
        assert "COLOUR=blue" in env and "API_TOKEN=••••••" in env
        assert "DATABASE_URL=••••••" in env
        assert not [e for e in env if "abc123" in e or "hunter2" in e]
        admin_env = json.loads(fleetdeck("inspect", ref, env=server_env(fleet3)).stdout)
        assert "API_TOKEN=abc123" in admin_env["Config"]["Env"]
    finally:
        docker(node, "rm", "-f", name, check=False)


def test_run_creates_a_container_and_refuses_an_operator_the_dangerous_options(
    fleet3: LabRecord,
) -> None:
    node = fleet3.nodes[0]
    m = uuid.uuid4().hex[:8]
    name, net, vol, refused = f"run-{m}", f"runnet-{m}", f"runvol-{m}", f"runno-{m}"
    web = fleet3.images["web"]
    port = str(20000 + int(m[:4], 16) % 20000)
    docker(node, "network", "create", net)
    operator = {**server_env(fleet3), "FLEETDECK_TOKEN": _token_of(fleet3, Role.operator)}
    try:
        out = fleetdeck("run", "-e", node.name, "--name", name, "-E", "GREETING=hi",
                        "-p", f"{port}:80", "-v", f"{vol}:/data:ro", "--network", net,
                        "--restart", "unless-stopped", "-l", "suite=run", web,
                        env=operator)  # fmt: skip
        assert out.stdout.startswith(f"{node.name}/{name} running")
        made = _inspect(node, name)
        assert made["State"]["Status"] == "running" and "GREETING=hi" in made["Config"]["Env"]
        assert made["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": port}]}
        assert made["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        assert [(x["Name"], x["Destination"], x["RW"]) for x in made["Mounts"]] == [
            (vol, "/data", False)
        ]
        assert list(made["NetworkSettings"]["Networks"]) == [net]
        assert made["Config"]["Labels"]["suite"] == "run"
        proc = fleetdeck("run", "-e", node.name, "--name", refused, "--privileged", web,
                         env=operator, check=False)  # fmt: skip
        assert proc.returncode == 3 and "privileged" in proc.stderr and "admin" in proc.stderr
        with client_for(fleet3, token=operator["FLEETDECK_TOKEN"]) as client:
            for change, rule in (
                ({"mounts": [{"type": "bind", "source": "/srv/data", "target": "/data"}]},
                 "host-mount"),
                ({"mounts": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}]},
                 "docker-socket"),
                ({"network_mode": "host"}, "host-network"),
                ({"cap_add": ["SYS_ADMIN"]}, "capability"),
            ):  # fmt: skip
                spec = ContainerSpec.model_validate({"image": web, "name": refused, **change})
                with pytest.raises(PermissionDeniedError, match=rule):
                    client.create_container(node.name, spec)
        assert refused not in _names(node)
        # An admin may (and is told what the container can do).
        admin = fleetdeck("run", "-e", node.name, "--name", refused, "-v", "/tmp:/d", web,  # noqa: S108
                          env=server_env(fleet3))  # fmt: skip
        assert "host-mount" in admin.stderr and refused in _names(node)
        # The operator may recreate it as it is, but not pull a new image into its powers.
        before = _inspect(node, refused)["Id"]
        pulled = fleetdeck("recreate", "--pull", f"{node.name}/{refused}", env=operator,
                           check=False)  # fmt: skip
        assert pulled.returncode == 3 and "host-mount" in pulled.stderr, pulled.stderr
        assert _inspect(node, refused)["Id"] == before
        fleetdeck("recreate", f"{node.name}/{refused}", env=operator)
        assert _inspect(node, refused)["Id"] != before
    finally:
        for n in (name, refused):
            docker(node, "rm", "-f", n, check=False)
        docker(node, "volume", "rm", vol, check=False)
        docker(node, "network", "rm", net, check=False)
