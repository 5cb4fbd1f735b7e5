"""Reading stacks for the API: the list (managed + discovered), details, ps and logs.

Discovery reads the server's in-memory inventory (containers labelled with a Compose project
or a Swarm stack namespace), so listing stacks never waits on a node.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import FleetdeckError
from fleetdeck.labels import stack_of
from fleetdeck.server.stacks.adoption import discover, fleet_containers
from fleetdeck.server.stacks.files import to_wire
from fleetdeck.server.stacks.plan import DeployTarget, TargetKind

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.wire.containers import EngineContainer


def _status(containers: list[EngineContainer]) -> str:
    if not containers:
        return "stopped"
    running = [c for c in containers if c.state == "running"]
    healthy = [c for c in running if c.health in (None, "healthy")]
    if len(healthy) == len(containers):
        return "running"
    return "stopped" if not running else "partial"


def _inventory_stacks(service: StackService) -> dict[tuple[str, str], list[EngineContainer]]:
    """(environment, stack) → its containers, from every node's inventory."""
    found: dict[tuple[str, str], list[EngineContainer]] = {}
    for state in service.fleet.inventory.nodes():
        for container in state.containers.values():
            name = stack_of(container.labels)
            if name:
                found.setdefault((state.environment, name), []).append(container)
    return found


async def list_stacks(service: StackService) -> list[dict[str, Any]]:
    """Managed stacks first-class, plus unmanaged projects found running."""
    running = _inventory_stacks(service)
    result: list[dict[str, Any]] = []
    managed: set[tuple[str, str]] = set()
    for row in await service.repo.all():
        if not row.files:
            continue
        key = (row.environment, row.name)
        managed.add(key)
        containers = running.get(key, [])
        status = row.status if row.status in ("deploying", "failed") else _status(containers)
        result.append({
            "name": row.name, "environment": row.environment, "kind": row.kind, "managed": True,
            "status": status, "services": len({c.service for c in containers}),
            "revision": row.revision, "updated_at": row.updated_at.isoformat(),
            "drift": service.drift_state(row.name) if service.drift_state else "unknown",
        })  # fmt: skip
    # Unmanaged ones, with what their labels tell (made by, files): see adoption.py.
    result.extend(found.to_json() for found in discover(fleet_containers(service), managed))
    return result


async def stack_detail(service: StackService, name: str) -> dict[str, Any]:
    """The contract's ``GET /stacks/{name}``."""
    row = await service.repo.require(name)
    variables = await service.repo.variables(row)
    containers = _inventory_stacks(service).get((row.environment, name), [])
    status = row.status if row.status in ("deploying", "failed") else _status(containers)
    return {
        "name": row.name, "environment": row.environment, "kind": row.kind, "managed": True,
        "files": [to_wire(f) for f in await service.repo.files(row.name, row.files)],
        "env_file": row.env_file, "revision": row.revision,
        "status": status if row.files else "unknown", "message": row.message,
        "variables": [v.to_json() for v in variables],
    }  # fmt: skip


async def stack_ps(service: StackService, name: str) -> list[dict[str, Any]]:
    """``GET /stacks/{name}/ps``."""
    row = await service.repo.require(name)
    kind = TargetKind(row.kind)
    target = DeployTarget(stack=name, environment=row.environment, kind=kind)
    statuses = await service.applier(kind).status(name, target)
    return [
        {"service": s.service, "desired": s.desired, "running": s.running, "healthy": s.healthy,
         "image": s.image, "image_ref": s.image_ref or s.image, "containers": s.containers}
        for s in statuses
    ]  # fmt: skip


async def stack_logs(
    service: StackService, name: str, *, tail: str | None, follow: bool, service_name: str | None
) -> AsyncIterator[bytes]:
    """Merged NDJSON log lines of the stack's containers, each with service and container.

    The stack and its environment's link are looked up before the stream is returned, so an
    unknown stack is a 404 (not a 200 whose stream breaks off).
    """
    row = await service.repo.require(name)
    containers = [
        c for c in _inventory_stacks(service).get((row.environment, name), [])
        if service_name is None or c.service == service_name
    ]  # fmt: skip
    link = service.host._link_for(row.environment, None)  # noqa: SLF001 - same package
    return _merged_logs(link, containers, tail=tail, follow=follow)


async def _merged_logs(
    link: Any, containers: list[EngineContainer], *, tail: str | None, follow: bool
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=1000)

    async def pump(container: EngineContainer) -> None:
        try:
            async for line in link.agent.container_logs(
                container.id, tail=tail, follow=follow, timestamps=True
            ):
                item = json.loads(line)
                item.update(service=container.service, container=container.name)
                await queue.put((json.dumps(item) + "\n").encode())
        except FleetdeckError as exc:
            await queue.put(
                (json.dumps({"error": exc.kind, "message": exc.message}) + "\n").encode()
            )

    async def run_all() -> None:
        await asyncio.gather(*(pump(c) for c in containers))
        await queue.put(None)

    task = asyncio.create_task(run_all())
    try:
        while True:
            item = await queue.get()
            if item is None:
                break
            yield item
    finally:
        task.cancel()
