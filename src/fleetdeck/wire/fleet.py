"""Hosts and engines: what an agent says of its host, its engine and its Swarm membership."""

from __future__ import annotations

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
    #: Whether the host's kernel has IPVS (None: not reported). Swarm's routing mesh and
    #: service VIPs need it on every node; without it ports must be published in host mode.
    ipvs: bool | None = None
