"""A Swarm lab schedules real services across its nodes."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import fleetdeck_json
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def test_swarm_has_three_ready_nodes(swarm3: LabRecord) -> None:
    manager = swarm3.nodes[0]
    nodes = docker(manager, "node", "ls", "--format", "{{.Hostname}} {{.Status}}").splitlines()
    assert sorted(nodes) == sorted(f"{n.hostname} Ready" for n in swarm3.nodes)
    status = fleetdeck_json("lab", "status", "--name", swarm3.name)
    swarm = status["swarm"]
    assert isinstance(swarm, dict)
    assert swarm["state"] == "active"
    assert swarm["managers"] == ["node1"]


def test_replicated_service_is_spread_across_nodes(swarm3: LabRecord) -> None:
    manager = swarm3.nodes[0]
    name = f"svc-{uuid.uuid4().hex[:8]}"
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
        deadline = time.monotonic() + 60
        running: list[str] = []
        while time.monotonic() < deadline:
            tasks = docker(
                manager,
                "service",
                "ps",
                name,
                "--filter",
                "desired-state=running",
                "--format",
                "{{.Node}} {{.CurrentState}}",
            ).splitlines()
            running = [t.split()[0] for t in tasks if " Running " in f" {t} "]
            if len(running) == 3:
                break
            time.sleep(0.5)
        assert sorted(running) == sorted(n.hostname for n in swarm3.nodes)
    finally:
        docker(manager, "service", "rm", name)
