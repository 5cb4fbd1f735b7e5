"""The fleet side of ``local`` environments: checks, credentials, the node and its link.

:class:`~fleetdeck.server.fleet.local.LocalAgentSupervisor` runs the agent child processes;
:class:`LocalEnvironments` ties each one into the fleet exactly like an enrolled agent: a
node record (named after the engine's hostname, or ``local``) whose URL is the child's, and
an :class:`~fleetdeck.server.fleet.links.AgentLink` to it. Inventory and operations then take
the one code path every agent takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from fleetdeck import pki
from fleetdeck.agent.tls import AgentCredentials
from fleetdeck.errors import ConflictError, InvalidInputError
from fleetdeck.server.fleet.agent_client import INFO_PATH
from fleetdeck.server.fleet.local import DEFAULT_DOCKER_HOST, LISTEN_HOST
from fleetdeck.server.fleet.records import NodeRecord
from fleetdeck.server.fleet.service import Fleet
from fleetdeck.wire.fleet import AgentInfo

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.server.fleet.links import ClientTLS
    from fleetdeck.server.fleet.local import LocalAgentSupervisor
    from fleetdeck.server.fleet.records import EnvironmentRecord

log = logging.getLogger("fleetdeck.server.local")

#: How long creating a local environment waits for its agent to answer (to name the node).
FIRST_ANSWER_TIMEOUT_S = 15.0


def socket_path(docker_host: str) -> Path:
    """The socket of ``unix:///absolute/path``, checked to exist now; else InvalidInputError."""
    hint = "use --docker-host unix:///path/to/docker.sock (a socket on the server's host)"
    path = docker_host.removeprefix("unix://")
    if path == docker_host or not path.startswith("/"):
        raise InvalidInputError(
            f"docker_host must be unix:// and an absolute path, not {docker_host!r}", hint=hint
        )
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        raise InvalidInputError(
            f"no Docker socket at {path} on the server's host",
            hint="is the engine running there? " + hint,
        ) from None
    except OSError as exc:
        raise InvalidInputError(f"cannot use {path}: {exc.strerror}", hint=hint) from None
    if not stat.S_ISSOCK(mode):
        raise InvalidInputError(f"{path} is not a socket", hint=hint)
    return Path(path)


def same_socket(a: str, b: str) -> bool:
    """Whether two ``unix://`` URLs name the same socket (symlinks resolved)."""
    real_a, real_b = (os.path.realpath(u.removeprefix("unix://")) for u in (a, b))
    return real_a == real_b


async def engine_hostname(url: str, tls: ClientTLS, timeout: float) -> str | None:
    """The engine's hostname once the child at ``url`` answers (None: engine down or no answer).

    Asked of the agent itself, over the same mutual TLS as every other call.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(base_url=url, verify=tls.context(), timeout=2.0) as client:
        while loop.time() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                response = await client.get(INFO_PATH)
                if response.is_success:
                    info = AgentInfo.model_validate(response.json())
                    return info.hostname if info.engine_state == "up" and info.hostname else None
            await asyncio.sleep(0.2)
    return None


def issue_credentials(ca: pki.CertificateAuthority, state_dir: Path, environment: str) -> str:
    """Write a key, certificate and CA in the agent's state-dir layout; return the serial.

    The certificate is for ``127.0.0.1`` (where the server calls the child) and is signed
    straight by the server's CA: the server is both sides of this enrolment, so no join token.
    """
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    state_dir.chmod(0o700)
    creds = AgentCredentials(state_dir)
    key = pki.new_key()
    cert = ca.issue(
        f"agent:{environment}/local", key.public_key(), ip_addresses=[LISTEN_HOST], client=False
    )
    pki.write_private(creds.key_path, pki.key_pem(key))
    creds.cert_path.write_bytes(pki.cert_pem(cert))
    creds.ca_path.write_bytes(pki.cert_pem(ca.cert))
    return str(cert.serial_number)


class LocalEnvironments:
    """Runs, links and removes the agents of a fleet's local environments.

    Args:
        fleet: The fleet whose store, CA, links and environments to use.
        supervisor: Runs the agent child processes.
        first_answer_timeout: How long creating an environment waits for its agent.
    """

    def __init__(
        self,
        fleet: Fleet,
        supervisor: LocalAgentSupervisor,
        first_answer_timeout: float = FIRST_ANSWER_TIMEOUT_S,
    ) -> None:
        self.fleet = fleet
        self.supervisor = supervisor
        self.first_answer_timeout = first_answer_timeout
        supervisor.on_moved = self._moved

    def check_new(self, docker_host: str | None, existing: Iterable[EnvironmentRecord]) -> str:
        """The new environment's docker_host, checked; else InvalidInputError/ConflictError."""
        docker_host = docker_host or DEFAULT_DOCKER_HOST
        socket_path(docker_host)
        for env in existing:
            if (
                env.kind == "local"
                and env.docker_host
                and same_socket(env.docker_host, docker_host)
            ):
                raise ConflictError(
                    f"environment {env.name!r} manages the engine at {docker_host} already",
                    hint="one local environment per engine socket",
                )
        return docker_host

    async def run(self, env: EnvironmentRecord, *, wait: bool = False) -> None:
        """Start the environment's agent child and link to it (node created on first run).

        Args:
            env: A local environment.
            wait: Wait for the agent to answer, to name the node after the engine's hostname
                (creation); otherwise the link simply retries until the child listens.
        """
        state_dir = self.supervisor.state_dir(env.name)
        serial = None
        if not AgentCredentials(state_dir).exist():
            serial = await asyncio.to_thread(issue_credentials, self.fleet.ca, state_dir, env.name)
        url = await self.supervisor.start(env.name, env.docker_host or DEFAULT_DOCKER_HOST)
        node = env.nodes[0] if env.nodes else None
        if node is None:
            hostname = None
            if wait:
                hostname = await engine_hostname(
                    url, self.fleet.links.tls, self.first_answer_timeout
                )
            node_name = Fleet.node_name(env, hostname or "local", url)
            node = NodeRecord(node_name, hostname or "local", url, serial or "", datetime.now(UTC))
        elif serial is not None:  # the state dir was lost: the old certificate is gone too
            await self.fleet.repo.revoke([node.cert_serial], "local agent credentials reissued")
            node.cert_serial = serial
        node.agent_url = url
        await self.fleet.repo.upsert_node(env.name, node)
        env.nodes = [node]
        await self.fleet.links.remove(env.name, node.name)
        self.fleet.links.add(env.name, node.name, url, node.cert_serial)

    async def _moved(self, environment: str, url: str) -> None:
        """A restarted child listens on another port: the node and its link follow."""
        env = self.fleet.find_environment(environment)
        if env is None or not env.nodes:
            return
        node = env.nodes[0]
        node.agent_url = url
        await self.fleet.repo.upsert_node(environment, node)
        await self.fleet.links.remove(environment, node.name)
        self.fleet.links.add(environment, node.name, url, node.cert_serial)

    async def remove(self, environment: str) -> None:
        """Stop the environment's agent and delete its state dir (its key goes with it)."""
        await self.supervisor.remove(environment)

    async def close(self) -> None:
        """Stop every agent child (server shutdown)."""
        await self.supervisor.close()
