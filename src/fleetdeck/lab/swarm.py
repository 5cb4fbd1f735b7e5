"""Forming a Docker Swarm across the lab's nodes.

The lab's kernel may lack IPVS, so the routing mesh and service VIPs may not work: lab
services should publish with ``mode: host`` and use ``endpoint_mode: dnsrr``. Overlay
networks (VXLAN) do work across the lab bridge.
"""

from __future__ import annotations

from fleetdeck.errors import InvalidInputError
from fleetdeck.lab.state import NodeRecord, SwarmRecord
from fleetdeck.lab.system import run

#: Overlay subnets come from here, well away from the lab pool.
SWARM_ADDR_POOL = "10.96.0.0/12"


def form_swarm(nodes: list[NodeRecord], managers: int) -> SwarmRecord:
    """Init a Swarm on the first node and join the others (the first ``managers`` as managers)."""
    if not 1 <= managers <= len(nodes):
        raise InvalidInputError(f"--managers must be between 1 and {len(nodes)}, not {managers}")
    first = nodes[0]
    run(
        [
            "docker",
            "--host",
            first.docker_host,
            "swarm",
            "init",
            "--advertise-addr",
            first.ip,
            "--listen-addr",
            f"{first.ip}:2377",
            "--default-addr-pool",
            SWARM_ADDR_POOL,
        ]
    )
    tokens = {
        role: run(
            ["docker", "--host", first.docker_host, "swarm", "join-token", "-q", role]
        ).stdout.strip()
        for role in ("manager", "worker")
    }
    for i, node in enumerate(nodes[1:], start=1):
        role = "manager" if i < managers else "worker"
        run(
            [
                "docker",
                "--host",
                node.docker_host,
                "swarm",
                "join",
                "--token",
                tokens[role],
                "--advertise-addr",
                node.ip,
                "--listen-addr",
                f"{node.ip}:2377",
                f"{first.ip}:2377",
            ],
            timeout=60,
        )
    return SwarmRecord(
        enabled=True,
        managers=[n.name for n in nodes[:managers]],
        workers=[n.name for n in nodes[managers:]],
    )
