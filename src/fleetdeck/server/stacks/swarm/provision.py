"""Before a stack's services: its overlay networks, secrets and configs, and their ids.

Services refer to secrets and configs by id, which exists only once the object is made, so
the applier first makes every missing network and (content-addressed) secret and config,
then fills the ids into the specs. Existing objects are reused by name: an unchanged stack
creates nothing.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import FleetdeckError, InvalidInputError
from fleetdeck.server.stacks.plan import ProgressEvent

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.stacks.swarm.desired import Desired

    Progress = Callable[[ProgressEvent], Awaitable[None]]


async def ensure_networks(
    link: AgentLink,
    stack: str,
    desired: Desired,
    snapshot: dict[str, Any],
    progress: Progress,
) -> None:
    """Create the stack's missing overlay networks (external ones must exist already)."""
    present = {n.get("Name") for n in snapshot["networks"]}
    for network in desired.networks.values():
        if network.external or network.name in present:
            continue
        await progress(ProgressEvent(stack, "network", "started", f"creating {network.name}"))
        await link.agent.create_swarm_network(network.body)
        await progress(ProgressEvent(stack, "network", "ok", f"created {network.name}"))


async def ensure_data(
    link: AgentLink,
    stack: str,
    desired: Desired,
    snapshot: dict[str, Any],
    progress: Progress,
) -> dict[str, str]:
    """Create missing secrets and configs; answer every needed object's id by name."""
    ids: dict[str, str] = {}
    for kind, objects in (("secrets", desired.secrets), ("configs", desired.configs)):
        present = {o["Spec"]["Name"]: o["ID"] for o in snapshot[kind]}
        for obj in objects.values():
            if obj.name in present:
                ids[obj.name] = present[obj.name]
                continue
            if obj.external:
                raise InvalidInputError(f"external {kind[:-1]} {obj.name!r} does not exist")
            body = {
                "name": obj.name,
                "labels": obj.labels(stack),
                "data": base64.b64encode(obj.data).decode(),
            }
            answer = await link.agent.create_swarm_data(kind, body)
            ids[obj.name] = answer.id
            message = f"created {kind[:-1]} {obj.key} ({obj.name})"
            await progress(ProgressEvent(stack, "secret", "ok", message))
    return ids


def with_ids(spec: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """The spec with the ids of its secrets and configs filled in (they exist by now)."""
    container = dict(spec["TaskTemplate"]["ContainerSpec"])
    for key, kind in (("Secrets", "Secret"), ("Configs", "Config")):
        refs = []
        for ref in container.get(key) or []:
            name = ref[f"{kind}Name"]
            if name not in ids:
                raise FleetdeckError(f"{kind.lower()} {name} was not created")
            refs.append({**ref, f"{kind}ID": ids[name]})
        container[key] = refs
    template = {**spec["TaskTemplate"], "ContainerSpec": container}
    return {**spec, "TaskTemplate": template}
