"""One plain host as the host applier sees it: its stack's containers, through the agent.

:class:`HostNode` wraps the agent's stack routes (and the generic container
routes) in typed calls; :class:`ObservedContainer` is a container of a Compose project as
read from its labels and inspect. Every decision of the applier starts from a fresh
:meth:`HostNode.observe`, never from what a previous (possibly interrupted) deploy intended.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import NotFoundError
from fleetdeck.server.fleet.agent_client import LONG_CALL_S
from fleetdeck.server.stacks.host.progress import last_health_check
from fleetdeck.server.stacks.host.spec import (
    L_HASH,
    L_KEYS,
    L_NUMBER,
    L_PROJECT,
    L_REVISION,
    L_SERVICE,
)
from fleetdeck.wire.containers import image_reference

if TYPE_CHECKING:
    from fleetdeck.server.fleet.links import AgentLink


@dataclass
class ObservedContainer:
    """A container of the project as it is now."""

    id: str
    name: str
    service: str
    number: int
    state: str
    health: str | None
    image_id: str
    image: str
    config_hash: str
    key_hashes: dict[str, str]
    revision: int | None
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    has_healthcheck: bool = False
    published: list[str] = field(default_factory=list)
    exit_code: int | None = None
    #: The image as the Compose file wrote it (see
    #: :func:`fleetdeck.wire.containers.image_reference`).
    image_ref: str = ""
    #: The newest healthcheck run (exit code, output), None before the first one.
    last_check: tuple[int | None, str] | None = None

    @property
    def running(self) -> bool:
        """Running (or restarting counts as not running: it is not serving)."""
        return self.state == "running"

    @classmethod
    def from_inspect(cls, raw: dict[str, Any]) -> ObservedContainer:
        """Read one container's inspect JSON."""
        config = raw.get("Config") or {}
        labels: dict[str, str] = config.get("Labels") or {}
        state = raw.get("State") or {}
        health = (state.get("Health") or {}).get("Status")
        try:
            keys = json.loads(labels.get(L_KEYS) or "{}")
        except ValueError:
            keys = {}
        revision = labels.get(L_REVISION, "")
        check = (config.get("Healthcheck") or {}).get("Test") or []
        bindings = (raw.get("HostConfig") or {}).get("PortBindings") or {}
        published = [
            f"{b.get('HostPort')}/{key.partition('/')[2] or 'tcp'}"
            for key, items in bindings.items()
            for b in items or []
            if b.get("HostPort")
        ]
        return cls(
            id=raw["Id"],
            name=str(raw.get("Name", "")).lstrip("/"),
            service=labels.get(L_SERVICE, ""),
            number=int(labels.get(L_NUMBER, "0") or 0),
            state=str(state.get("Status", "")),
            health=health,
            image_id=str(raw.get("Image", "")),
            image=str(config.get("Image", "")),
            config_hash=labels.get(L_HASH, ""),
            key_hashes=keys if isinstance(keys, dict) else {},
            revision=int(revision) if revision.isdigit() else None,
            networks=((raw.get("NetworkSettings") or {}).get("Networks")) or {},
            has_healthcheck=bool(check) and check[0] != "NONE",
            published=published,
            exit_code=state.get("ExitCode") if state.get("Status") == "exited" else None,
            image_ref=image_reference(str(config.get("Image", "")), labels)[0],
            last_check=last_health_check(state),
        )

    @property
    def replaced(self) -> bool:
        """Renamed ``<id12>_NAME`` when a rolling update retired it (Compose's convention).

        Such a container no longer holds its ``STACK-SERVICE-N`` name, so a new replica can
        take that number; an undo renames it back.
        """
        return self.name.startswith(f"{self.id[:12]}_")

    def aliases(self, network: str) -> list[str]:
        """The container's aliases on ``network`` (empty when not connected)."""
        endpoint = self.networks.get(network) or {}
        return list(endpoint.get("Aliases") or [])


@dataclass
class Observed:
    """What a project owns on a host right now."""

    containers: list[ObservedContainer]
    networks: list[dict[str, Any]]
    volumes: list[dict[str, Any]]

    def of(self, service: str) -> list[ObservedContainer]:
        """Containers of one service, by container number."""
        return sorted((c for c in self.containers if c.service == service), key=lambda c: c.number)

    @property
    def services(self) -> set[str]:
        """Every service that has a container."""
        return {c.service for c in self.containers}


class HostNode:
    """Typed calls to one node's agent for the host applier."""

    def __init__(self, link: AgentLink) -> None:
        self.link = link
        self.agent = link.agent

    @property
    def where(self) -> str:
        """``ENV/NODE``."""
        return self.link.where

    async def observe(self, stack: str) -> Observed:
        """Containers, networks and volumes labelled with the project ``stack``."""
        raw = await self.agent.stack_project(stack)
        containers = [
            ObservedContainer.from_inspect(item)
            for item in raw.containers or []
            if (item.get("Config") or {}).get("Labels", {}).get(L_PROJECT) == stack
        ]
        return Observed(containers, raw.networks or [], raw.volumes or [])

    async def inspect(self, container: str) -> ObservedContainer | None:
        """One container now, or None when it is gone."""
        try:
            raw = await self.agent.inspect_container(container)
        except NotFoundError:
            return None
        return ObservedContainer.from_inspect(raw)

    async def image(self, ref: str) -> dict[str, Any] | None:
        """A local image ``{id, repo_digests, repo_tags}``, or None."""
        try:
            return await self.agent.stack_image(ref)
        except NotFoundError:
            return None

    async def registry_digest(self, image: str, auth: dict[str, str] | None) -> str:
        """The registry's manifest digest of ``image`` (raises NotFoundError if unknown)."""
        result = await self.agent.stack_image_digest(image, auth)
        return str(result.digest)

    async def pull(self, image: str, auth: dict[str, str] | None) -> None:
        """Pull ``image``; raise with Docker's message when it fails."""
        from fleetdeck.errors import FleetdeckError

        async for item in self.agent.pull_image(image, auth):
            if item.error:
                raise FleetdeckError(f"pulling {image} on {self.where}: {item.error}")

    async def build(self, context_tar: bytes, tag: str, params: dict[str, str]) -> str:
        """Build an image on the node; its id."""
        query = {"tag": tag, "params": json.dumps(params)}
        response = await self.agent.build_image(context_tar, query, timeout=LONG_CALL_S)
        return response.id

    async def create_network(self, body: dict[str, Any]) -> None:
        """Create a network (labelled by the caller)."""
        await self.agent.create_stack_network(body)

    async def create_volume(self, name: str, driver: str | None, labels: dict[str, str]) -> None:
        """Create a named volume."""
        await self.agent.create_volume({"name": name, "driver": driver, "labels": labels})

    async def create_container(
        self, name: str, config: dict[str, Any], networks: dict[str, dict[str, Any]]
    ) -> str:
        """Create a container (not started); its id."""
        body = {"name": name, "config": config, "networks": networks}
        result = await self.agent.create_stack_container(body, timeout=LONG_CALL_S)
        return result.id

    async def action(self, container: str, action: str, timeout: int | None = None) -> None:
        """Start / stop / kill a container."""
        await self.agent.container_action(container, action, t=timeout, timeout=LONG_CALL_S)

    async def rename(self, container: str, name: str) -> None:
        """Rename a container (Engine ``POST /containers/{id}/rename``)."""
        await self.agent.rename_container(container, name)

    async def remove(self, container: str) -> None:
        """Remove a container (force); gone already is fine."""
        try:
            await self.agent.remove_container(container, force=True)
        except NotFoundError:
            return

    async def reconnect(self, network: str, container: str, aliases: list[str]) -> None:
        """Give a container new aliases on a network, keeping its address."""
        body = {"container": container, "aliases": aliases, "keep_address": True}
        await self.agent.reconnect(network, body)

    async def remove_network(self, name: str) -> None:
        """Remove a network (gone already is fine)."""
        try:
            await self.agent.remove_network(name)
        except NotFoundError:
            return

    async def put_files(self, stack: str, files: dict[str, bytes]) -> dict[str, str]:
        """Write secret/config files on the host; host path by key."""
        encoded = {k: base64.b64encode(v).decode() for k, v in files.items()}
        result = await self.agent.put_stack_files(stack, encoded)
        return dict(result.paths)

    async def prune_files(self, stack: str, keep: list[str]) -> None:
        """Remove the stack's files but ``keep``."""
        await self.agent.delete_stack_files(stack, keep)

    async def ports_in_use(self) -> dict[str, list[int]]:
        """Host ports with a listener."""
        return await self.agent.stack_ports()
