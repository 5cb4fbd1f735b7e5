"""The fleet: what an agent says of its host and engine, environments, nodes and enrolment."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SwarmInfo(BaseModel):
    """What an engine says of its Swarm membership."""

    state: str = "inactive"  # inactive|pending|active|error|locked
    node_id: str | None = None
    cluster_id: str | None = None
    role: str | None = None  # manager|worker
    node_addr: str | None = None


class AgentInfo(BaseModel):
    """The host and engine behind an agent."""

    hostname: str
    engine_state: str = "up"  # up|down
    engine_version: str | None = None
    api_version: str | None = None
    os: str | None = None
    cpus: int | None = None
    memory_bytes: int | None = None
    swarm: SwarmInfo = Field(default_factory=SwarmInfo)
    agent_version: str | None = None
    #: The agent's protocol (:mod:`fleetdeck.protocol`); None from agents before protocol 2.
    agent_protocol: int | None = None
    #: The commit the agent was built from (12 hex digits), when it knows.
    agent_commit: str | None = None
    #: Whether the host's kernel has IPVS (None: not reported). Swarm's routing mesh and
    #: service VIPs need it on every node; without it ports must be published in host mode.
    ipvs: bool | None = None


# ------------------------------------------------------------ environments and nodes (API)
# The server builds these from its store and live inventory; the client parses them. The
# defaults are for the client: keys are added, never renamed, so a reply from an older
# server without a newer key still parses.


class Node(BaseModel):
    """One Docker host of an environment: what the store knows, and what its link last reported."""

    name: str
    address: str | None = None
    hostname: str | None = None
    status: str = "pending"
    last_seen: datetime | None = None
    engine_version: str | None = None
    swarm_role: str | None = None
    swarm_state: str | None = None
    agent_url: str | None = None
    error: str | None = None
    containers: int = 0
    #: The agent's package version, protocol and commit: live, else as last recorded.
    agent_version: str | None = None
    agent_protocol: int | None = None
    agent_commit: str | None = None
    #: Whether the agent is older than the server (None: it never reported).
    agent_outdated: bool | None = None


class Environment(BaseModel):
    """A named group of Docker hosts (one engine, or the nodes of one Swarm), with live status."""

    name: str
    kind: str = "agent"
    #: The engine socket of a ``local`` environment (its agent runs on the server).
    docker_host: str | None = None
    tags: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    #: The worst of its nodes' statuses.
    status: str = "pending"
    last_seen: datetime | None = None
    created_at: datetime | None = None
    nodes: list[Node] = Field(default_factory=list)
    #: Its oldest agent's version and lowest protocol, and whether any agent is outdated.
    agent_version: str | None = None
    agent_protocol: int | None = None
    agent_outdated: bool | None = None


class AgentLines(BaseModel):
    """The ways to start an agent with a join token, besides ``agent_command`` (by hand).

    Built by ``server/install/lines.py``; null when they do not apply (a ``local``
    environment, or a server that serves no wheelhouse for the install line).
    """

    #: The one-line shell install from this server (null when it serves no wheelhouse).
    install_command: str | None = None
    #: The agent container's ``docker run`` line.
    docker_command: str | None = None
    #: ``curl … | docker load`` of the agent image, when the server has its tarball.
    image_load_command: str | None = None
    #: Removes what the install line installed.
    uninstall_command: str | None = None


class JoinToken(AgentLines):
    """A join token for one more agent, the exact command that enrols it, and its environment."""

    environment: Environment | None = None
    join_token: str
    agent_command: str | None = None
    expires_in_seconds: int | None = None


class EnvironmentCreated(AgentLines):
    """``POST /environments``: the new environment and, for ``agent`` ones, its first join token.

    A ``local`` environment needs no join token and no agent command (the server runs its
    agent): those keys are null.
    """

    environment: Environment | None = None
    join_token: str | None = None
    agent_command: str | None = None
    expires_in_seconds: int | None = None


class EnrolResult(BaseModel):
    """``POST /agents/enrol``: the agent's signed certificate, the CA to trust, where it landed."""

    cert_pem: str
    ca_pem: str
    environment: str
    node: str
