"""The fleet: environments and their nodes, enrolment, and the links that feed the inventory.

:class:`Fleet` is the one object the fleet routes talk to. Environments and nodes live in the
store (through a :class:`FleetRepository`); what runs on them lives in memory
(:class:`~fleetdeck.server.fleet.inventory.FleetInventory`), fed by one
:class:`~fleetdeck.server.fleet.links.AgentLink` per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from fleetdeck import pki
from fleetdeck.errors import (
    ConflictError,
    FleetdeckError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from fleetdeck.server.fleet.inventory import FleetInventory, NodeState, NodeStatus
from fleetdeck.server.fleet.links import ClientTLS, FleetLinks
from fleetdeck.types import Container

log = logging.getLogger("fleetdeck.server.fleet")

ENV_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=/-]{0,62}$")


@dataclass
class NodeRecord:
    """A node as the store keeps it."""

    name: str
    hostname: str
    agent_url: str
    cert_serial: str
    enrolled_at: datetime


@dataclass
class EnvironmentRecord:
    """An environment as the store keeps it."""

    name: str
    kind: str
    tags: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    nodes: list[NodeRecord] = field(default_factory=list)


class FleetRepository(Protocol):
    """What the fleet needs from the store (implemented over SQLAlchemy in repository.py)."""

    async def list_environments(self) -> list[EnvironmentRecord]:
        """Every environment with its nodes."""

    async def create_environment(self, env: EnvironmentRecord) -> None:
        """Insert an environment; ConflictError if the name is taken."""

    async def update_environment(self, name: str, tags: list[str], groups: list[str]) -> None:
        """Replace an environment's tags and groups."""

    async def delete_environment(self, name: str) -> None:
        """Delete an environment, its nodes and its join tokens."""

    async def add_join_token(
        self, environment: str, secret_hash: str, expires_at: datetime, created_by: str
    ) -> None:
        """Store a join token (hashed) for an environment."""

    async def consume_join_token(self, secret_hash: str, now: datetime) -> str:
        """Mark a join token used and return its environment's name.

        Raises:
            PermissionDeniedError: the token is unknown, used, or expired.
        """

    async def upsert_node(self, environment: str, node: NodeRecord) -> None:
        """Insert a node, or replace the one of the same name."""

    async def revoke(self, serials: list[str], reason: str) -> None:
        """Record certificate serials as revoked."""

    async def revoked(self) -> set[str]:
        """Every revoked certificate serial."""


class NodeView(BaseModel):
    """A node as the API shows it."""

    name: str
    address: str | None
    hostname: str
    status: str
    last_seen: datetime | None
    engine_version: str | None = None
    swarm_role: str | None = None
    swarm_state: str | None = None
    agent_url: str
    error: str | None = None
    containers: int = 0


class EnvironmentView(BaseModel):
    """An environment as the API shows it."""

    name: str
    kind: str
    tags: list[str]
    groups: list[str]
    status: str
    last_seen: datetime | None
    created_at: datetime
    nodes: list[NodeView] = Field(default_factory=list)


def _validate_labels(values: list[str], what: str) -> list[str]:
    for value in values:
        if not TAG_RE.match(value):
            raise InvalidInputError(
                f"invalid {what} {value!r}", hint="letters, digits and _ . : = / - (max 63)"
            )
    return sorted(set(values))


STATUS_ORDER = {
    NodeStatus.unreachable: 3,
    NodeStatus.engine_down: 2,
    NodeStatus.pending: 1,
    NodeStatus.up: 0,
}


class Fleet:
    """Environments, enrolment, links and inventory of one server."""

    def __init__(
        self,
        repo: FleetRepository,
        ca: pki.CertificateAuthority,
        tls: ClientTLS,
        join_token_ttl: timedelta = timedelta(hours=1),
    ) -> None:
        self.repo = repo
        self.ca = ca
        self.inventory = FleetInventory()
        self.links = FleetLinks(tls, self.inventory)
        self.join_token_ttl = join_token_ttl
        self._envs: dict[str, EnvironmentRecord] = {}
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Load environments from the store and link to every enrolled node."""
        for env in await self.repo.list_environments():
            self._envs[env.name] = env
            for node in env.nodes:
                self.links.add(env.name, node.name, node.agent_url)

    async def stop(self) -> None:
        """Close every link."""
        await self.links.close()

    # ------------------------------------------------------------ environments
    def environment_names(self) -> set[str]:
        """Names of every environment."""
        return set(self._envs)

    def require_environment(self, name: str) -> EnvironmentRecord:
        """The environment called ``name`` or a NotFoundError that says how to list them."""
        try:
            return self._envs[name]
        except KeyError:
            raise NotFoundError(
                f"no environment {name!r}", hint="list them with: fleetdeck env ls"
            ) from None

    async def create_environment(
        self, name: str, tags: list[str], groups: list[str], created_by: str
    ) -> tuple[EnvironmentRecord, str]:
        """Create an agent environment and its first join token."""
        if not ENV_NAME_RE.match(name):
            raise InvalidInputError(
                f"invalid environment name {name!r}",
                hint="lower-case letters, digits, '.', '_' and '-', starting with a letter/digit",
            )
        env = EnvironmentRecord(
            name=name,
            kind="agent",
            tags=_validate_labels(tags, "tag"),
            groups=_validate_labels(groups, "group"),
        )
        async with self._lock:
            if name in self._envs:
                raise ConflictError(f"environment {name!r} exists already")
            await self.repo.create_environment(env)
            self._envs[name] = env
        return env, await self.new_join_token(name, created_by)

    async def update_environment(
        self, name: str, tags: list[str] | None, groups: list[str] | None
    ) -> EnvironmentRecord:
        """Replace an environment's tags and/or groups."""
        env = self.require_environment(name)
        new_tags = _validate_labels(tags, "tag") if tags is not None else env.tags
        new_groups = _validate_labels(groups, "group") if groups is not None else env.groups
        await self.repo.update_environment(name, new_tags, new_groups)
        env.tags, env.groups = new_tags, new_groups
        return env

    async def new_join_token(self, environment: str, created_by: str) -> str:
        """A single-use, expiring join token for one more node of ``environment``."""
        self.require_environment(environment)
        token, secret = pki.new_join_token(self.ca.fingerprint)
        await self.repo.add_join_token(
            environment,
            pki.hash_secret(secret),
            datetime.now(UTC) + self.join_token_ttl,
            created_by,
        )
        return token

    async def remove_environment(self, name: str) -> None:
        """Delete an environment: revoke its agents' certificates and tell them to forget."""
        env = self.require_environment(name)
        for link in self.links.of(name):
            with contextlib.suppress(FleetdeckError):
                await link.call("POST", "/v1/forget", timeout=3)
        await self.repo.revoke([n.cert_serial for n in env.nodes], f"environment {name} removed")
        await self.links.remove(name)
        await self.repo.delete_environment(name)
        self._envs.pop(name, None)

    # ------------------------------------------------------------ enrolment
    async def enrol(
        self, join_token: str, csr_pem: str, listen_url: str, hostname: str
    ) -> dict[str, str]:
        """Admit a new agent: check its token, sign its key, start following it."""
        fingerprint, secret = pki.parse_join_token(join_token)
        if fingerprint != self.ca.fingerprint:
            raise PermissionDeniedError("this join token was issued by another fleetdeck server")
        url = urlsplit(listen_url)
        if url.scheme != "https" or not url.hostname or not url.port:
            raise InvalidInputError(
                f"invalid agent URL {listen_url!r}",
                hint="use https://ADDRESS:PORT, reachable from the server",
            )
        environment = await self.repo.consume_join_token(pki.hash_secret(secret), datetime.now(UTC))
        env = self.require_environment(environment)
        node_name = self._node_name(env, hostname, listen_url)
        try:
            ip_addresses, dns_names = [str(ipaddress.ip_address(url.hostname))], []
        except ValueError:
            ip_addresses, dns_names = [], [url.hostname]
        cert = self.ca.sign_csr(
            csr_pem.encode(),
            f"agent:{environment}/{node_name}",
            ip_addresses=ip_addresses,
            dns_names=dns_names,
        )
        node = NodeRecord(
            name=node_name,
            hostname=hostname,
            agent_url=listen_url.rstrip("/"),
            cert_serial=str(cert.serial_number),
            enrolled_at=datetime.now(UTC),
        )
        replaced = [n for n in env.nodes if n.name == node_name]
        if replaced:
            await self.repo.revoke([n.cert_serial for n in replaced], "agent enrolled again")
            await self.links.remove(environment, node_name)
        await self.repo.upsert_node(environment, node)
        env.nodes = [n for n in env.nodes if n.name != node_name] + [node]
        self.links.add(environment, node_name, node.agent_url)
        return {
            "cert_pem": pki.cert_pem(cert).decode(),
            "ca_pem": pki.cert_pem(self.ca.cert).decode(),
            "environment": environment,
            "node": node_name,
        }

    @staticmethod
    def _node_name(env: EnvironmentRecord, hostname: str, listen_url: str) -> str:
        base = re.sub(r"[^a-z0-9_.-]", "-", hostname.lower()).strip("-") or "node"
        taken = {n.name: n for n in env.nodes}
        name, i = base, 2
        while name in taken and taken[name].agent_url != listen_url.rstrip("/"):
            name, i = f"{base}-{i}", i + 1
        return name

    # ------------------------------------------------------------ views
    def view(self, env: EnvironmentRecord) -> EnvironmentView:
        """The API view of an environment, with live node status."""
        nodes = [self._node_view(env.name, n) for n in env.nodes]
        statuses = [NodeStatus(n.status) for n in nodes]
        status = max(statuses, key=lambda s: STATUS_ORDER[s]) if statuses else NodeStatus.pending
        seen = [n.last_seen for n in nodes if n.last_seen]
        return EnvironmentView(
            name=env.name,
            kind=env.kind,
            tags=env.tags,
            groups=env.groups,
            status=status.value,
            last_seen=max(seen) if seen else None,
            created_at=env.created_at,
            nodes=nodes,
        )

    def views(self) -> list[EnvironmentView]:
        """Every environment's view, by name."""
        return [self.view(self._envs[name]) for name in sorted(self._envs)]

    def _node_view(self, environment: str, node: NodeRecord) -> NodeView:
        state: NodeState | None = self.inventory.find_node(environment, node.name)
        info = state.info if state else None
        return NodeView(
            name=node.name,
            address=urlsplit(node.agent_url).hostname,
            hostname=info.hostname if info else node.hostname,
            status=(state.status if state else NodeStatus.pending).value,
            last_seen=state.last_seen if state else None,
            engine_version=info.engine_version if info else None,
            swarm_role=info.swarm.role if info else None,
            swarm_state=info.swarm.state if info else None,
            agent_url=node.agent_url,
            error=state.error if state else None,
            containers=len(state.containers) if state else 0,
        )

    # ------------------------------------------------------------ containers
    def resolve(self, ref: str) -> Container:
        """Find a container by reference (see FleetInventory.resolve)."""
        return self.inventory.resolve(ref, self.environment_names())

    async def settled(self, container: Container, timeout: float = 2.0) -> Container | None:
        """The container as the inventory sees it once the agent reported the change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        version = self.inventory.version
        while loop.time() < deadline:
            version = await self.inventory.wait_changed(version, deadline - loop.time())
            state = self.inventory.find_node(container.environment, container.node)
            current = state.containers.get(container.id) if state else None
            if (
                current is None
                or current.state != container.state
                or current.name != container.name
            ):
                break
        state = self.inventory.find_node(container.environment, container.node)
        current = state.containers.get(container.id) if state else None
        if current is None:
            return None
        return Container(
            **current.model_dump(), environment=container.environment, node=container.node
        )
