"""Driving the Swarm stack applier against a real lab Swarm, and watching it as an operator.

``applier_for`` builds the server's own agent links in-process, with the lab server's client
certificate (the same mutual TLS the server uses), so a test exercises the real agents, the
real manager and the real applier. ``load`` runs a steady HTTP load from a container on the
stack's overlay network that resolves the service's DNS round-robin name on every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.errors import ConflictError
from fleetdeck.server.fleet.inventory import FleetInventory, NodeStatus
from fleetdeck.server.fleet.links import ClientTLS, FleetLinks
from fleetdeck.server.stacks.swarm_applier import SwarmApplier
from tests.conftest import client_for
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from fleetdeck.lab import LabRecord, NodeRecord
    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.stacks.plan import ProgressEvent

ENV = "swarm"


@contextlib.asynccontextmanager
async def applier_for(record: LabRecord) -> AsyncIterator[SwarmApplier]:
    """A SwarmApplier over fresh links to the lab's agents (closed afterwards)."""
    assert record.server is not None
    data_dir = Path(record.server.data_dir)
    tls = ClientTLS(
        ca_cert=data_dir / "ca" / "ca.pem",
        cert=data_dir / "tls" / "server.pem",
        key=data_dir / "tls" / "server.key",
    )
    inventory = FleetInventory()
    links = FleetLinks(tls, inventory)
    with client_for(record) as client:
        environment = client.get_environment(ENV)
    for node in environment.nodes:
        assert node.agent_url
        links.add(ENV, node.name, node.agent_url)

    def manager(env: str) -> AgentLink:
        for link in links.of(env):
            state = inventory.find_node(env, link.node)
            if state and state.info and state.info.swarm.role == "manager":
                return link
        raise ConflictError(f"no manager in {env}")

    deadline = time.monotonic() + 60
    while not all(s.status is NodeStatus.up for s in inventory.nodes(ENV)):
        assert time.monotonic() < deadline, "agents did not answer"
        await asyncio.sleep(0.2)
    try:
        yield SwarmApplier(manager, inventory, hash_key=b"test-key")
    finally:
        await links.close()


class Recorder:
    """Collects progress events (the deploy's stream, as the API would send it)."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    async def __call__(self, event: ProgressEvent) -> None:
        """Keep one event."""
        self.events.append(event)

    def text(self) -> str:
        """Every event as one line each (to search for leaked values)."""
        return "\n".join(str(e.to_json()) for e in self.events)


def stack_services(manager: NodeRecord, stack: str) -> dict[str, str]:
    """``docker stack services``: service name → replicas column."""
    out = docker(manager, "stack", "services", stack, "--format", "{{.Name}} {{.Replicas}}")
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


class Load:
    """A running load container: read its counts while it runs."""

    def __init__(self, node: NodeRecord, name: str) -> None:
        self.node = node
        self.name = name

    def counts(self) -> tuple[int, int]:
        """(succeeded, failed) requests so far."""
        out = docker(self.node, "exec", self.name, "cat", "/var/count", check=False)
        ok, _, failed = (out or "0 0").partition(" ")
        return int(ok or 0), int(failed or 0)


_LOOP = (
    "ok=0; failed=0; while true; do "
    'if timeout 5 wget -q -O /dev/null "$URL"; then ok=$((ok+1)); else failed=$((failed+1)); fi; '
    'echo "$ok $failed" > /var/count.new; mv /var/count.new /var/count; done'
)


@contextlib.contextmanager
def load(node: NodeRecord, network: str, url: str, image: str) -> Iterator[Load]:
    """Request ``url`` in a loop from a container on ``network`` (a new DNS lookup each time).

    busybox wget resolves the name on every run and the embedded DNS answers a service in
    dnsrr mode with its tasks' addresses, so every request picks a task afresh, as a client
    of a real stack would.
    """
    name = f"load-{int(time.time() * 1000) % 10**8}"
    docker(
        node,
        "run",
        "-d",
        "--name",
        name,
        "--network",
        network,
        "-e",
        f"URL={url}",
        image,
        "sh",
        "-c",
        _LOOP,
    )
    try:
        yield Load(node, name)
    finally:
        docker(node, "rm", "-f", name, check=False)
