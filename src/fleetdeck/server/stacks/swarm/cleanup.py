"""Tidying a Swarm stack: unused secrets/configs/networks, stack-wide rollback, removal.

Secrets and configs are content-addressed (see swarm_objects), so every rotation leaves the
old object behind; it is removed once neither a service's current nor its previous spec (what
a Swarm rollback would return to) refers to it. Objects still held by shutting-down tasks are
left for the next deploy rather than waited for: removal is idempotent and converges.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import ConflictError, FleetdeckError, NotFoundError
from fleetdeck.server.stacks.plan import ProgressEvent
from fleetdeck.server.stacks.swarm.spec import NAMESPACE
from fleetdeck.server.stacks.swarm.stalls import StallClock

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.stacks.swarm.converge import Watch
    from fleetdeck.server.stacks.swarm.desired import Desired

    Progress = Callable[[ProgressEvent], Awaitable[None]]

#: After its services are removed, a stack's networks are free once their tasks are gone.
NETWORK_RELEASE_TIMEOUT_S = 60.0
POLL_S = 1.0


def _labelled(objects: list[dict[str, Any]], stack: str) -> list[dict[str, Any]]:
    return [
        o for o in objects if ((o.get("Spec") or {}).get("Labels") or {}).get(NAMESPACE) == stack
    ]


def _referenced(services: list[dict[str, Any]], kind: str) -> set[str]:
    names: set[str] = set()
    for service in services:
        for which in ("Spec", "PreviousSpec"):
            container = ((service.get(which) or {}).get("TaskTemplate") or {}).get(
                "ContainerSpec"
            ) or {}
            names.update(ref.get(f"{kind}Name", "") for ref in container.get(f"{kind}s") or [])
    return names


async def _delete(removal: Awaitable[Any]) -> bool:
    try:
        await removal
    except NotFoundError:
        return True
    except (ConflictError, FleetdeckError):
        return False  # still in use (tasks shutting down): the next deploy removes it
    return True


async def remove_unused(
    link: AgentLink,
    stack: str,
    desired: Desired,
    progress: Progress,
    snapshot: dict[str, Any] | None = None,
) -> None:
    """Remove the stack's secrets, configs and networks that nothing refers to any more.

    ``snapshot`` is the stack as it is now, when the caller has it fresh (else fetched).
    """
    if snapshot is None:
        snapshot = await link.agent.swarm_stack(stack)
    services = snapshot["services"]
    for kind, label in (("secrets", "Secret"), ("configs", "Config")):
        used = _referenced(services, label)
        for obj in _labelled(snapshot[kind], stack):
            name = obj["Spec"]["Name"]
            if name not in used and await _delete(link.agent.remove_swarm_data(kind, obj["ID"])):
                await progress(ProgressEvent(stack, "remove", "ok", f"removed unused {name}"))
    wanted = {n.name for n in desired.networks.values()}
    for network in snapshot["networks"]:
        if network.get("Name") in wanted or (network.get("Labels") or {}).get(NAMESPACE) != stack:
            continue
        if await _delete(link.agent.remove_swarm_network(network["Id"])):
            await progress(ProgressEvent(stack, "remove", "ok", f"removed {network['Name']}"))


async def roll_back_others(
    link: AgentLink, stack: str, watches: list[Watch], progress: Progress
) -> list[Watch]:
    """One service's update was rolled back by Swarm: return the others to their previous spec.

    A stack is one unit: a half-updated stack (new API, old worker) may be worse than either
    version, so services this deploy updated are rolled back and services it created removed.
    A service whose update can never converge (``watch.undo``: no node can take its tasks) is
    rolled back here too, since Swarm itself would keep waiting. Answers the rollbacks to
    wait for.
    """
    back: list[Watch] = []
    for watch in watches:
        if watch.rolled_back:
            continue
        try:
            service = await link.agent.swarm_service(watch.full_name)
        except NotFoundError:
            continue
        if service.get("PreviousSpec"):
            await link.agent.rollback_service(watch.full_name)
            message = "rolling back with the rest of the stack"
            back.append(
                replace(
                    watch,
                    done=False,
                    failed="",
                    last="",
                    expect_rollback=True,
                    sent=("", ""),
                    undo=False,
                    stalls=StallClock(),
                )  # fmt: skip
            )
        else:
            await link.agent.remove_swarm_service(watch.full_name)
            message = "removed: it was new in the failed deploy"
        await progress(ProgressEvent(stack, "rollback", "started", message, watch.service))
    return back


async def remove_stack(link: AgentLink, stack: str, progress: Progress) -> None:
    """Remove every service, then the networks, secrets and configs of the stack."""
    snapshot = await link.agent.swarm_stack(stack)
    for service in snapshot["services"]:
        await progress(ProgressEvent(stack, "remove", "started", service["name"]))
        await _delete(link.agent.remove_swarm_service(service["ID"]))
    for kind in ("secrets", "configs"):
        for obj in _labelled(snapshot[kind], stack):
            await _delete(link.agent.remove_swarm_data(kind, obj["ID"]))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + NETWORK_RELEASE_TIMEOUT_S
    networks = [n for n in snapshot["networks"] if (n.get("Labels") or {}).get(NAMESPACE) == stack]
    while networks:
        networks = [
            n for n in networks if not await _delete(link.agent.remove_swarm_network(n["Id"]))
        ]
        if networks and loop.time() > deadline:
            names = ", ".join(n["Name"] for n in networks)
            raise ConflictError(f"networks still in use after removing the stack: {names}")
        if networks:
            await asyncio.sleep(POLL_S)
    await progress(ProgressEvent(stack, "done", "ok", f"removed stack {stack}"))
