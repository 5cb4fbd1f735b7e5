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
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from fleetdeck import pki
from fleetdeck.clock import SYSTEM
from fleetdeck.errors import (
    ConflictError,
    FleetdeckError,
    InvalidInputError,
    NodeUnreachableError,
    NotFoundError,
    PermissionDeniedError,
)
from fleetdeck.server.fleet.hub import AgentReported, EventHub
from fleetdeck.server.fleet.inventory import FleetInventory, NodeStatus
from fleetdeck.server.fleet.links import ClientTLS, FleetLinks
from fleetdeck.server.fleet.records import EnvironmentRecord as EnvironmentRecord
from fleetdeck.server.fleet.records import NodeRecord as NodeRecord
from fleetdeck.server.fleet.views import environment_view
from fleetdeck.wire.containers import Container

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.clock import Clock
    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.wire.fleet import Environment

log = logging.getLogger("fleetdeck.server.fleet")

ENV_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=/-]{0,62}$")


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

    async def check_join_token(self, secret_hash: str, now: datetime) -> tuple[str, datetime]:
        """The environment and expiry of a usable join token, leaving it unused.

        Raises:
            PermissionDeniedError: the token is unknown, used, or expired.
        """

    async def consume_join_token(self, secret_hash: str, now: datetime) -> str:
        """Mark a join token used and return its environment's name.

        Raises:
            PermissionDeniedError: the token is unknown, used, or expired.
        """

    async def upsert_node(self, environment: str, node: NodeRecord) -> None:
        """Insert a node, or replace the one of the same name."""

    async def record_agent(
        self, environment: str, node: str, version: str | None, protocol: int, commit: str | None
    ) -> None:
        """Remember what a node's agent last reported (its version, protocol and commit)."""

    async def revoke(self, serials: list[str], reason: str) -> None:
        """Record certificate serials as revoked."""

    async def revoked(self) -> set[str]:
        """Every revoked certificate serial."""


class LocalEnvironmentsPort(Protocol):
    """What the fleet needs from :class:`~fleetdeck.server.fleet.local_envs.LocalEnvironments`.

    A protocol rather than the class: ``local_envs`` builds on :class:`Fleet`, so naming the
    class here would make the two modules import each other.
    """

    def check_new(self, docker_host: str | None, existing: Iterable[EnvironmentRecord]) -> str:
        """The new environment's docker_host, checked; else InvalidInputError/ConflictError."""

    async def run(self, env: EnvironmentRecord, *, wait: bool = False) -> None:
        """Start (or restart) the local agent of ``env`` and link to it."""

    async def remove(self, environment: str) -> None:
        """Stop the local agent of ``environment`` and forget its state."""

    async def close(self) -> None:
        """Stop every local agent."""


def _validate_labels(values: list[str], what: str) -> list[str]:
    for value in values:
        if not TAG_RE.match(value):
            raise InvalidInputError(
                f"invalid {what} {value!r}", hint="letters, digits and _ . : = / - (max 63)"
            )
    return sorted(set(values))


def _check_csr(csr_pem: str) -> None:
    """Refuse, as the CA's ``sign_csr`` would, a CSR that cannot be signed."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError as exc:
        raise InvalidInputError(f"invalid certificate signing request: {exc}") from exc
    if not csr.is_signature_valid:
        raise InvalidInputError("the certificate signing request's signature is invalid")
    if not isinstance(csr.public_key(), ec.EllipticCurvePublicKey):
        raise InvalidInputError("agent keys must be EC (P-256)")


class Fleet:
    """Environments, enrolment, links and inventory of one server.

    ``clock`` is its present: join token expiry, and the status texts the inventory serves.
    ``loops``, when given, is where each agent link's stream loop is registered.
    """

    def __init__(
        self,
        repo: FleetRepository,
        ca: pki.CertificateAuthority,
        tls: ClientTLS,
        join_token_ttl: timedelta = timedelta(hours=1),
        clock: Clock = SYSTEM,
        loops: LoopRegistry | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.ca = ca
        #: The fleet's events (metrics, links, inventory changes, deploy outcomes): parts
        #: subscribe here rather than polling the links or wrapping each other's callbacks.
        self.hub = EventHub()
        self.inventory = FleetInventory(clock, self.hub)
        self.links = FleetLinks(tls, self.inventory, loops)
        self.join_token_ttl = join_token_ttl
        self._envs: dict[str, EnvironmentRecord] = {}
        self._lock = asyncio.Lock()
        #: Runs the agents of ``local`` environments (set by the server before :meth:`start`).
        self.local: LocalEnvironmentsPort | None = None
        #: Store writes of agents' reported versions still running (awaited by :meth:`stop`).
        self._recording: set[asyncio.Task[None]] = set()
        self.hub.subscribe(AgentReported, self._agent_reported)

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Load environments from the store and link to every enrolled node."""
        for env in await self.repo.list_environments():
            self._envs[env.name] = env
            if env.kind != "local":
                for node in env.nodes:
                    self.links.add(env.name, node.name, node.agent_url, node.cert_serial)
                continue
            try:  # one broken local environment must not keep the server down
                await self._local().run(env)
            except (OSError, FleetdeckError) as exc:
                log.error("local environment %s: cannot start its agent: %s", env.name, exc)

    async def stop(self) -> None:
        """Close every link, then stop the agents of local environments."""
        await self.links.close()
        if self.local is not None:
            await self.local.close()
        if self._recording:
            await asyncio.gather(*self._recording, return_exceptions=True)

    def _agent_reported(self, event: AgentReported) -> None:
        """Keep what an agent reported on its node's record, and in the store (in a task)."""
        env = self._envs.get(event.environment)
        node = next((n for n in env.nodes if n.name == event.node), None) if env else None
        reported = (event.version, event.protocol, event.commit)
        if node is None or (node.agent_version, node.agent_protocol, node.agent_commit) == reported:
            return
        node.agent_version, node.agent_protocol, node.agent_commit = reported
        task = asyncio.get_running_loop().create_task(self._record_agent(event))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _record_agent(self, event: AgentReported) -> None:
        try:
            await self.repo.record_agent(
                event.environment, event.node, event.version, event.protocol, event.commit
            )
        except FleetdeckError as exc:  # a busy store: the next report (or restart) tries again
            log.warning("node %s/%s: cannot record its agent's version: %s",
                        event.environment, event.node, exc)  # fmt: skip

    def _local(self) -> LocalEnvironmentsPort:
        if self.local is None:
            raise InvalidInputError("this server does not run local agents")
        return self.local

    # ------------------------------------------------------------ environments
    def environment_names(self) -> set[str]:
        """Names of every environment."""
        return set(self._envs)

    def find_environment(self, name: str) -> EnvironmentRecord | None:
        """The environment called ``name``, if there is one."""
        return self._envs.get(name)

    def require_environment(self, name: str) -> EnvironmentRecord:
        """The environment called ``name`` or a NotFoundError that says how to list them."""
        try:
            return self._envs[name]
        except KeyError:
            raise NotFoundError(
                f"no environment {name!r}", hint="list them with: fleetdeck env ls"
            ) from None

    async def create_environment(
        self,
        name: str,
        tags: list[str],
        groups: list[str],
        created_by: str,
        kind: str = "agent",
        docker_host: str | None = None,
    ) -> tuple[EnvironmentRecord, str | None]:
        """Create an environment; an ``agent`` one gets its first join token.

        A ``local`` one gets no token: the server starts its agent (on ``docker_host``) now.
        """
        if not ENV_NAME_RE.match(name):
            raise InvalidInputError(
                f"invalid environment name {name!r}",
                hint="lower-case letters, digits, '.', '_' and '-', starting with a letter/digit",
            )
        if kind not in ("agent", "local"):
            raise InvalidInputError(f"invalid environment kind {kind!r}", hint="agent or local")
        if kind == "agent" and docker_host is not None:
            raise InvalidInputError("docker_host is only for local environments")
        env = EnvironmentRecord(
            name=name,
            kind=kind,
            tags=_validate_labels(tags, "tag"),
            groups=_validate_labels(groups, "group"),
        )
        async with self._lock:
            if name in self._envs:
                raise ConflictError(f"environment {name!r} exists already")
            if kind == "local":
                env.docker_host = self._local().check_new(docker_host, self._envs.values())
            await self.repo.create_environment(env)
            self._envs[name] = env
        if kind == "local":
            try:
                await self._local().run(env, wait=True)
            except OSError as exc:  # nothing half-made stays behind
                await self.remove_environment(name)
                raise FleetdeckError(f"cannot start the agent of {name!r}: {exc}") from exc
            return env, None
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
        if self.require_environment(environment).kind == "local":
            raise ConflictError(
                f"environment {environment!r} is local: the server runs its agent itself",
                hint="local environments take no join tokens",
            )
        token, secret = pki.new_join_token(self.ca.fingerprint)
        await self.repo.add_join_token(
            environment,
            pki.hash_secret(secret),
            self.clock.now() + self.join_token_ttl,
            created_by,
        )
        return token

    async def remove_environment(self, name: str) -> None:
        """Delete an environment: revoke its agents' certificates and tell them to forget."""
        env = self.require_environment(name)
        if env.kind == "local":  # stopped first: told to forget, it would only restart
            await self._local().remove(name)
        else:
            for link in self.links.of(name):
                with contextlib.suppress(FleetdeckError):
                    await link.agent.forget(timeout=3)
        await self.repo.revoke([n.cert_serial for n in env.nodes], f"environment {name} removed")
        await self.links.remove(name)
        await self.repo.delete_environment(name)
        self._envs.pop(name, None)

    # ------------------------------------------------------------ enrolment
    async def check_join_token(self, join_token: str) -> tuple[str, int]:
        """Whether a join token would be admitted now: its environment and seconds left.

        The install script asks before it installs anything, so that a used or expired
        token stops it with the server's reason and leaves the host as it was.
        """
        fingerprint, secret = pki.parse_join_token(join_token)
        if fingerprint != self.ca.fingerprint:
            raise PermissionDeniedError("this join token was issued by another fleetdeck server")
        now = self.clock.now()
        environment, expires_at = await self.repo.check_join_token(pki.hash_secret(secret), now)
        return environment, max(0, int((expires_at - now).total_seconds()))

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
        _check_csr(csr_pem)  # a CSR the CA would refuse must not spend the single-use token
        # One enrolment at a time: the node name is chosen from env.nodes, which is only
        # updated at the end, so two hosts of the same hostname would otherwise share one.
        async with self._lock:
            return await self._admit(secret, csr_pem, url.hostname, listen_url, hostname)

    async def _admit(
        self, secret: str, csr_pem: str, address: str, listen_url: str, hostname: str
    ) -> dict[str, str]:
        environment = await self.repo.consume_join_token(pki.hash_secret(secret), self.clock.now())
        env = self.require_environment(environment)
        node_name = self.node_name(env, hostname, listen_url)
        try:
            ip_addresses, dns_names = [str(ipaddress.ip_address(address))], []
        except ValueError:
            ip_addresses, dns_names = [], [address]
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
            enrolled_at=self.clock.now(),
        )
        replaced = [n for n in env.nodes if n.name == node_name]
        if replaced:
            await self.repo.revoke([n.cert_serial for n in replaced], "agent enrolled again")
            await self.links.remove(environment, node_name)
        await self.repo.upsert_node(environment, node)
        env.nodes = [n for n in env.nodes if n.name != node_name] + [node]
        self.links.add(environment, node_name, node.agent_url, node.cert_serial)
        return {
            "cert_pem": pki.cert_pem(cert).decode(),
            "ca_pem": pki.cert_pem(self.ca.cert).decode(),
            "environment": environment,
            "node": node_name,
        }

    @staticmethod
    def node_name(env: EnvironmentRecord, hostname: str, listen_url: str) -> str:
        """A node name from ``hostname``, unique in ``env`` (unless it is that same agent)."""
        base = re.sub(r"[^a-z0-9_.-]", "-", hostname.lower()).strip("-") or "node"
        taken = {n.name: n for n in env.nodes}
        name, i = base, 2
        while name in taken and taken[name].agent_url != listen_url.rstrip("/"):
            name, i = f"{base}-{i}", i + 1
        return name

    # ------------------------------------------------------------ views
    def view(self, env: EnvironmentRecord) -> Environment:
        """The API view of an environment, with live node status."""
        return environment_view(env, self.inventory)

    def views(self) -> list[Environment]:
        """Every environment's view, by name."""
        return [self.view(self._envs[name]) for name in sorted(self._envs)]

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


def pick_node_link(fleet: Fleet, environment: str, node: str | None) -> AgentLink:
    """The link to ``node`` of ``environment``; ``node`` may be omitted for one-node envs."""
    fleet.require_environment(environment)
    links = fleet.links.of(environment)
    if node is not None:
        for link in links:
            if link.node == node:
                return link
        known = ", ".join(sorted(link.node for link in links)) or "none enrolled yet"
        raise NotFoundError(
            f"environment {environment!r} has no node {node!r}", hint=f"nodes: {known}"
        )
    if len(links) == 1:
        return links[0]
    if not links:
        raise NotFoundError(
            f"environment {environment!r} has no enrolled node yet",
            hint="run the agent command shown by `fleetdeck env show`",
        )
    raise InvalidInputError(
        f"environment {environment!r} has {len(links)} nodes: say which one",
        hint=f"pass node=… (one of {', '.join(sorted(link.node for link in links))})",
    )


def manager_of(fleet: Fleet, environment: str) -> AgentLink:
    """A reachable manager of the environment's Swarm (ConflictError if it is no Swarm)."""
    fleet.require_environment(environment)
    managers = []
    for link in fleet.links.of(environment):
        state = fleet.inventory.find_node(environment, link.node)
        if state and state.info and state.info.swarm.role == "manager":
            managers.append((state.status is NodeStatus.up, link))
    if not managers:
        raise ConflictError(
            f"environment {environment!r} is not a Swarm (no manager node)",
            hint="its engines are standalone; Swarm routes need a manager",
        )
    for up, link in managers:
        if up:
            return link
    raise NodeUnreachableError(f"no manager of environment {environment!r} is reachable")
