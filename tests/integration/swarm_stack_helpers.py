"""Watching a stack on a real lab Swarm as an operator would.

``load`` runs a steady HTTP load from a container on the stack's overlay network that
resolves the service's DNS round-robin name on every request; ``stack_services`` reads
``docker stack services``; ``service_versions`` and ``update_state`` read
``docker service inspect``.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import NodeRecord


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


def service_inspect(manager: NodeRecord, *names: str) -> list[dict[str, Any]]:
    """``docker service inspect`` of the named services (raw documents)."""
    found: list[dict[str, Any]] = json.loads(docker(manager, "service", "inspect", *names))
    return found


def service_versions(manager: NodeRecord, stack: str) -> dict[str, tuple[str, int]]:
    """Every service of a stack (per ``docker stack services``): name → (ID, version)."""
    names = docker(manager, "stack", "services", stack, "--format", "{{.Name}}").split()
    if not names:
        return {}
    found = service_inspect(manager, *names)
    return {s["Spec"]["Name"]: (s["ID"], s["Version"]["Index"]) for s in found}


def update_state(manager: NodeRecord, service: str) -> str:
    """Swarm's update status of a service (``""`` when it never had an update)."""
    status = service_inspect(manager, service)[0].get("UpdateStatus") or {}
    return str(status.get("State") or "")
