"""Swarm nodes, services and tasks (a mixin of :class:`~fleetdeck.agent.engine.Engine`).

These answer only on a Swarm manager; elsewhere the engine says 503, which becomes a
ConflictError ("this engine is not a swarm manager"). Objects are Docker's raw JSON (the
server needs their specs and versions) with flat summary keys added (see swarm_summary.py).
Updates are read-modify-write with the object's version, so a concurrent change is refused by
the engine (ConflictError/invalid input) rather than silently overwritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.agent.docker_api import DockerAPI
from fleetdeck.agent.swarm_summary import summarize_node, summarize_service, summarize_task
from fleetdeck.errors import InvalidInputError
from fleetdeck.wire.containers import IMAGE_REF_LABEL

if TYPE_CHECKING:
    from collections.abc import Mapping

NODE_AVAILABILITIES = frozenset({"active", "pause", "drain"})


class SwarmMixin(DockerAPI):
    """Swarm nodes, services and tasks on a manager."""

    async def swarm_nodes(self) -> list[dict[str, Any]]:
        """Every node of the Swarm (raw, with flat summary keys)."""
        result: list[dict[str, Any]] = await self.request("GET", "nodes", swarm=True)
        return [summarize_node(node) for node in result]

    async def update_swarm_node(
        self,
        ref: str,
        *,
        availability: str | None = None,
        labels: Mapping[str, str | None] | None = None,
    ) -> dict[str, Any]:
        """Change a node's availability and/or labels (a label set to None is removed)."""
        if availability is not None and availability not in NODE_AVAILABILITIES:
            raise InvalidInputError(
                f"availability must be one of {', '.join(sorted(NODE_AVAILABILITIES))}"
            )
        node = await self.request("GET", f"nodes/{ref}", swarm=True)
        spec: dict[str, Any] = dict(node.get("Spec") or {})
        if availability is not None:
            spec["Availability"] = availability
        if labels is not None:
            merged = dict(spec.get("Labels") or {})
            for key, value in labels.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            spec["Labels"] = merged
        version = node["Version"]["Index"]
        await self.request(
            "POST", f"nodes/{node['ID']}/update", params={"version": version}, body=spec, swarm=True
        )
        result: dict[str, Any] = await self.request("GET", f"nodes/{node['ID']}", swarm=True)
        return summarize_node(result)

    async def services(self) -> list[dict[str, Any]]:
        """Every service of the Swarm (with running/desired task counts)."""
        params = {"status": True}
        result: list[dict[str, Any]] = await self.request(
            "GET", "services", params=params, swarm=True
        )
        return [summarize_service(service) for service in result]

    async def service(self, ref: str) -> dict[str, Any]:
        """One service by id or name."""
        result: dict[str, Any] = await self.request("GET", f"services/{ref}", swarm=True)
        return summarize_service(result)

    async def _update_service(
        self, service: dict[str, Any], spec: dict[str, Any], *, rollback: bool = False
    ) -> list[str]:
        params: dict[str, Any] = {"version": service["Version"]["Index"]}
        if rollback:
            params["rollback"] = "previous"
        answer = await self.request(
            "POST", f"services/{service['ID']}/update", params=params, body=spec, swarm=True
        )
        return list((answer or {}).get("Warnings") or [])

    async def scale_service(self, ref: str, replicas: int) -> list[str]:
        """Set a replicated service's replica count; return the engine's warnings."""
        if replicas < 0:
            raise InvalidInputError("replicas must be zero or more")
        service = await self.service(ref)
        spec = dict(service["Spec"])
        mode = dict(spec.get("Mode") or {})
        if "Replicated" not in mode:
            raise InvalidInputError(f"service {ref!r} is not replicated (it is global)")
        mode["Replicated"] = {**(mode["Replicated"] or {}), "Replicas": replicas}
        spec["Mode"] = mode
        return await self._update_service(service, spec)

    async def set_service_image(self, ref: str, image: str) -> list[str]:
        """Roll a service onto another image; return the engine's warnings."""
        if not image.strip():
            raise InvalidInputError("image must not be empty")
        service = await self.service(ref)
        spec = dict(service["Spec"])
        template = dict(spec.get("TaskTemplate") or {})
        container_spec = dict(template.get("ContainerSpec") or {})
        container_spec["Image"] = image
        labels = dict(container_spec.get("Labels") or {})
        if labels.pop(IMAGE_REF_LABEL, None) is not None:  # a deploy's tag: no longer true
            container_spec["Labels"] = labels
        template["ContainerSpec"] = container_spec
        spec["TaskTemplate"] = template
        return await self._update_service(service, spec)

    async def rollback_service(self, ref: str) -> list[str]:
        """Roll a service back to its previous spec; return the engine's warnings."""
        service = await self.service(ref)
        if not service.get("PreviousSpec"):
            raise InvalidInputError(f"service {ref!r} has no previous version to roll back to")
        return await self._update_service(service, dict(service["Spec"]), rollback=True)

    async def remove_service(self, ref: str) -> None:
        """Remove a service."""
        await self.request("DELETE", f"services/{ref}", swarm=True)

    async def service_tasks(self, ref: str) -> list[dict[str, Any]]:
        """The tasks of one service (current and recent)."""
        service = await self.service(ref)
        filters = {"service": [service["ID"]]}
        result: list[dict[str, Any]] = await self.request(
            "GET", "tasks", params={"filters": filters}, swarm=True
        )
        nodes: list[dict[str, Any]] = await self.request("GET", "nodes", swarm=True)
        hostnames = {n["ID"]: (n.get("Description") or {}).get("Hostname", "") for n in nodes}
        return [summarize_task(task, hostnames) for task in result]
