"""Images, volumes and networks across a real fleet, through the CLI and the client."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def test_pull_list_and_remove_an_image(fleet3: LabRecord) -> None:
    env = server_env(fleet3)
    node3 = fleet3.nodes[2]
    ref = fleet3.images["web_v2"]
    docker(node3, "rmi", "-f", ref, check=False)
    out = fleetdeck("pull", ref, "--env", node3.name, env=env)
    assert out.returncode == 0
    assert ref in docker(node3, "images", "--format", "{{.Repository}}:{{.Tag}}").split()
    images = fleetdeck_json("images", "--env", node3.name, env=env)
    assert any(ref in img["tags"] for img in images)
    fleetdeck("rmi", ref, "--env", node3.name, env=env)
    assert ref not in docker(node3, "images", "--format", "{{.Repository}}:{{.Tag}}").split()
    bad = fleetdeck(
        "pull", f"{fleet3.registry}/nope/missing:1", "--env", node3.name, env=env, check=False
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_volumes_and_networks(fleet3: LabRecord) -> None:
    env = server_env(fleet3)
    node = fleet3.nodes[1]
    vol, net = f"v{uuid.uuid4().hex[:6]}", f"n{uuid.uuid4().hex[:6]}"
    with client_for(fleet3) as client:
        client.create_volume(node.name, vol)
        assert vol in docker(node, "volume", "ls", "--format", "{{.Name}}").split()
        assert any(v.name == vol for v in client.list_volumes(environment=node.name).items)
        client.remove_volume(node.name, vol)
        assert vol not in docker(node, "volume", "ls", "--format", "{{.Name}}").split()
        docker(node, "volume", "create", f"{vol}-unused")
        client.prune_volumes(node.name)

        client.create_network(node.name, net)
        name = f"c{uuid.uuid4().hex[:6]}"
        docker(node, "run", "-d", "--name", name, fleet3.images["base"], "sleep", "600")
        wait_for("container", lambda: client.list_containers(name=name).total == 1)
        client.connect_network(node.name, net, name)
        nets = docker(node, "inspect", "--format", "{{json .NetworkSettings.Networks}}", name)
        assert net in nets
        client.disconnect_network(node.name, net, name)
        nets = docker(node, "inspect", "--format", "{{json .NetworkSettings.Networks}}", name)
        assert net not in nets
        listed = fleetdeck_json("networks", "--env", node.name, env=env)
        assert any(n["name"] == net for n in listed)
        client.remove_network(node.name, net)
        assert net not in docker(node, "network", "ls", "--format", "{{.Name}}").split()
        docker(node, "rm", "-f", name)
