"""Images, volumes and networks across a real fleet, through the CLI and the client."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.client import FleetdeckClient
    from fleetdeck.lab import LabRecord
    from fleetdeck.wire.resources import FleetVolume

pytestmark = pytest.mark.lab
MIB = 2**20


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


def _image(images: list[dict[str, Any]], image_id: str) -> dict[str, Any]:
    return next(i for i in images if i["id"] == image_id)


def test_an_image_is_in_use_while_a_stopped_container_has_it(fleet3: LabRecord) -> None:
    env = server_env(fleet3)
    node = fleet3.nodes[2]
    tag = uuid.uuid4().hex[:8]
    ref = f"{fleet3.registry}/fleetdeck/unused-{tag}:1"
    # An image of its own (no other test's container can use it): committed from a container
    # of the seed image, pushed, removed locally, then pulled through fleetdeck.
    maker, user = f"mk{tag}", f"use{tag}"
    docker(node, "run", "--name", maker, fleet3.images["base"], "sh", "-c", f"echo {tag} >/t")
    docker(node, "commit", maker, ref)
    docker(node, "push", ref)
    docker(node, "rm", maker)
    docker(node, "rmi", ref)
    fleetdeck("pull", ref, "--env", node.name, env=env)
    image_id = docker(node, "image", "inspect", "--format", "{{.Id}}", ref)

    pulled = _image(fleetdeck_json("images", "--env", node.name, env=env), image_id)
    assert (pulled["in_use"], pulled["containers"], pulled["used_by"]) == (False, 0, [])
    assert pulled["dangling"] is False and ref in pulled["tags"]
    unused = fleetdeck_json("images", "--env", node.name, "--unused", env=env)
    assert image_id in {i["id"] for i in unused}

    docker(node, "run", "--name", user, ref, "true")  # exits at once: a stopped container
    assert docker(node, "inspect", "--format", "{{.State.Status}}", user) == "exited"
    used = _image(fleetdeck_json("images", "--env", node.name, env=env), image_id)
    assert (used["in_use"], used["containers"], used["used_by"]) == (True, 1, [user])
    unused = fleetdeck_json("images", "--env", node.name, "--unused", env=env)
    assert image_id not in {i["id"] for i in unused}
    # Every image the engine says is unused (no container, of any state, has its id) is.
    with_containers = set(docker(node, "ps", "-a", "--no-trunc", "--format", "{{.Image}}").split())
    for image in unused:
        assert not with_containers & {image["id"], *image["tags"]}
    table = fleetdeck("images", "--env", node.name, env=env).stdout
    assert "USED BY" in table
    assert any(user in line and tag in line for line in table.splitlines())
    docker(node, "rm", user)
    docker(node, "rmi", ref)


def _volume(client: FleetdeckClient, env: str, name: str, *, size: bool) -> FleetVolume:
    return next(v for v in client.list_volumes(env, size=size).items if v.name == name)


def test_a_volume_s_size_and_the_containers_mounting_it(fleet3: LabRecord) -> None:
    env = server_env(fleet3)
    node = fleet3.nodes[1]
    vol, writer = f"size{uuid.uuid4().hex[:6]}", f"dd{uuid.uuid4().hex[:6]}"
    with client_for(fleet3) as client:
        client.create_volume(node.name, vol)
        fresh = _volume(client, node.name, vol, size=False)
        assert (fresh.in_use, fresh.size, fresh.size_status) == (False, None, "not_requested")
        # 1 MiB written by a container that then stops: it still mounts the volume.
        dd = ["sh", "-c", "dd if=/dev/zero of=/data/blob bs=1M count=1"]
        docker(node, "run", "--name", writer, "-v", f"{vol}:/data", fleet3.images["base"], *dd)
        mounted = _volume(client, node.name, vol, size=True)
        assert (mounted.in_use, mounted.containers, mounted.used_by) == (True, 1, [writer])
        assert mounted.size_status == "measured" and mounted.size is not None
        assert MIB <= mounted.size < 2 * MIB
        docker(node, "rm", writer)
        left = _volume(client, node.name, vol, size=True)
        assert (left.in_use, left.containers, left.used_by) == (False, 0, [])
        assert left.size is not None and left.size >= MIB
    listed = fleetdeck_json("volumes", "--env", node.name, "--size", "--unused", env=env)
    row = next(v for v in listed if v["name"] == vol)
    assert (row["in_use"], row["size_status"]) == (False, "measured") and row["size"] >= MIB
    table = fleetdeck("volumes", "--env", node.name, "--size", env=env).stdout
    assert "SIZE" in table and any(vol in line and "1.0MB" in line for line in table.splitlines())
    with client_for(fleet3) as client:
        client.remove_volume(node.name, vol)
