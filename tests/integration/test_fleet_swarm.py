"""Swarm through fleetdeck: nodes, services, scaling, image updates, rollback, drain."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.client.client import FleetdeckClient
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

ENV = "swarm"


def _running_nodes(client: FleetdeckClient, service: str) -> list[str]:
    tasks: list[dict[str, Any]] = client.service_tasks(ENV, service)
    return sorted(
        str(t.get("node"))
        for t in tasks
        if t.get("state") == "running" and t.get("desired_state") == "running"
    )


def test_swarm_environment_has_all_nodes(swarm3: LabRecord) -> None:
    env = server_env(swarm3)
    shown = fleetdeck_json("env", "show", ENV, env=env)
    assert len(shown["nodes"]) == 3 and shown["status"] == "up"
    nodes = fleetdeck_json("nodes", "ls", ENV, env=env)
    hostnames = sorted(n["hostname"] for n in nodes)
    assert hostnames == sorted(n.hostname for n in swarm3.nodes)


def test_service_scale_update_rollback_remove(swarm3: LabRecord) -> None:
    env = server_env(swarm3)
    manager = swarm3.nodes[0]
    name = f"svc-{uuid.uuid4().hex[:6]}"
    docker(
        manager,
        "service",
        "create",
        "--detach",
        "--name",
        name,
        "--replicas",
        "1",
        "--endpoint-mode",
        "dnsrr",
        "--update-order",
        "start-first",
        swarm3.images["web"],
    )
    with client_for(swarm3) as client:
        wait_for(
            "service listed", lambda: any(s.get("name") == name for s in client.list_services(ENV))
        )
        fleetdeck("scale", f"{ENV}/{name}", "3", env=env)
        placed = wait_for(
            "3 running tasks",
            lambda: (lambda n: n if len(n) == 3 else None)(_running_nodes(client, name)),
            timeout=60,
        )
        assert sorted(placed) == sorted(n.hostname for n in swarm3.nodes)
        containers = wait_for(
            "tasks in the container list",
            lambda: (lambda items: items if len(items) == 3 else None)(
                client.list_containers(environment=ENV, name=name).items
            ),
        )
        assert {c.node for c in containers} == {n.hostname for n in swarm3.nodes}
        client.update_service_image(ENV, name, swarm3.images["web_v2"])
        wait_for(
            "image updated",
            lambda: (
                swarm3.images["web_v2"]
                in docker(
                    manager,
                    "service",
                    "inspect",
                    "--format",
                    "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
                    name,
                )
            ),
        )
        client.rollback_service(ENV, name)
        wait_for(
            "rolled back",
            lambda: docker(
                manager,
                "service",
                "inspect",
                "--format",
                "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
                name,
            ).startswith(swarm3.images["web"]),
        )
        client.remove_service(ENV, name)
        assert name not in docker(manager, "service", "ls", "--format", "{{.Name}}").split()


def test_drain_and_activate_a_node(swarm3: LabRecord) -> None:
    env = server_env(swarm3)
    manager, _, node3 = swarm3.nodes
    name = f"drn-{uuid.uuid4().hex[:6]}"
    docker(
        manager,
        "service",
        "create",
        "--detach",
        "--name",
        name,
        "--replicas",
        "3",
        "--endpoint-mode",
        "dnsrr",
        swarm3.images["web"],
    )
    try:
        with client_for(swarm3) as client:
            wait_for("3 running", lambda: len(_running_nodes(client, name)) == 3, timeout=60)
            fleetdeck("nodes", "drain", f"{ENV}/{node3.hostname}", env=env)
            assert (
                docker(
                    manager, "node", "inspect", "--format", "{{.Spec.Availability}}", node3.hostname
                )
                == "drain"
            )
            wait_for(
                "tasks moved off node3",
                lambda: (lambda n: len(n) == 3 and node3.hostname not in n)(
                    _running_nodes(client, name)
                ),
                timeout=60,
            )
            fleetdeck("nodes", "activate", f"{ENV}/{node3.hostname}", env=env)
            assert (
                docker(
                    manager, "node", "inspect", "--format", "{{.Spec.Availability}}", node3.hostname
                )
                == "active"
            )
    finally:
        docker(manager, "service", "rm", name, check=False)
