"""Models of the server's own resources (users, tokens, audit, environments…) for the client.

The wire models shared with the agent live in :mod:`fleetdeck.wire`; these describe replies
only the server gives. Unknown keys are ignored, so a newer server with added fields (keys are
added, never renamed) still talks to an older CLI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from fleetdeck.wire.auth import Role
from fleetdeck.wire.containers import Container
from fleetdeck.wire.resources import ImageInfo, NetworkInfo, VolumeInfo


class Health(BaseModel):
    """``GET /health``."""

    status: str
    version: str | None = None


class User(BaseModel):
    """A person who may log in."""

    username: str
    role: Role
    created_at: datetime | None = None
    disabled: bool = False


class LoginResult(BaseModel):
    """``POST /auth/login``: a session token (short-lived) and who it belongs to."""

    token: str
    user: User
    expires_at: datetime | None = None


class ApiToken(BaseModel):
    """A long-lived API token (its secret is only in :class:`CreatedToken`, once)."""

    id: str
    name: str
    role: Role
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked: bool = False
    user: str | None = None
    #: The token it was made with (revoked with it, expiring no later); None: a root.
    parent_id: str | None = None


class CreatedToken(ApiToken):
    """``POST /tokens``: the token record and its secret, shown this one time."""

    token: str


class AuditEntry(BaseModel):
    """Who did what to what, when, and how it ended."""

    id: int | str
    time: datetime
    actor: str
    action: str
    target: str
    result: str
    detail: Any = None


class AuditPage(BaseModel):
    """``GET /audit``: a page of entries, newest first, and how many match in all."""

    items: list[AuditEntry]
    total: int


class Node(BaseModel):
    """One Docker host of an environment, as the server last saw it."""

    name: str
    address: str | None = None
    hostname: str | None = None
    status: str = "pending"
    last_seen: datetime | None = None
    engine_version: str | None = None
    swarm_role: str | None = None
    agent_url: str | None = None


class Environment(BaseModel):
    """A named group of Docker hosts (one engine, or the nodes of one Swarm)."""

    name: str
    kind: str = "agent"
    #: The engine socket of a ``local`` environment (its agent runs on the server).
    docker_host: str | None = None
    tags: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    status: str = "pending"
    last_seen: datetime | None = None
    created_at: datetime | None = None
    nodes: list[Node] = Field(default_factory=list)


class JoinToken(BaseModel):
    """A join token for one more agent, the command that uses it, and its environment."""

    join_token: str
    agent_command: str | None = None
    expires_in_seconds: int | None = None

    environment: Environment | None = None


class EnvironmentCreated(JoinToken):
    """``POST /environments``: the new environment and its first join token."""

    environment: Environment | None = None


class LocalEnvironmentCreated(BaseModel):
    """``POST /environments`` for a ``local`` environment: no join token, no agent command.

    The server runs the environment's agent itself.
    """

    environment: Environment | None = None
    join_token: None = None
    agent_command: None = None
    expires_in_seconds: int | None = None


class EnrolResult(BaseModel):
    """``POST /agents/enrol``: the agent's certificate and where it belongs."""

    cert_pem: str
    ca_pem: str
    environment: str
    node: str


class ContainerPage(BaseModel):
    """``GET /containers``: one page of the fleet's containers and how many match in all."""

    items: list[Container]
    total: int


class ActionResult(BaseModel):
    """What a container action answers: the container afterwards (None once removed)."""

    ok: bool = True
    container: Container | None = None


class CreateFinding(BaseModel):
    """A dangerous setting of a created container (only an admin's may have one)."""

    rule: str
    message: str


class CreateResult(ActionResult):
    """What ``POST /containers`` answers: the container and its dangerous settings."""

    findings: list[CreateFinding] = Field(default_factory=list)


class PruneResult(BaseModel):
    """What a prune removed and how many bytes it gave back."""

    deleted: list[str] = Field(default_factory=list)
    space_reclaimed: int = 0


class Registry(BaseModel):
    """A registry whose credentials the server uses when pulling (the password never comes back)."""

    name: str
    url: str
    username: str | None = None


class FleetImage(ImageInfo):
    """An image and the engine it is on."""

    environment: str | None = None
    node: str | None = None


class FleetVolume(VolumeInfo):
    """A volume and the engine it is on."""

    environment: str | None = None
    node: str | None = None


class FleetNetwork(NetworkInfo):
    """A network and the engine it is on."""

    environment: str | None = None
    node: str | None = None


class ImagePage(BaseModel):
    """``GET /images``: images of the selected nodes, and the nodes that did not answer."""

    items: list[FleetImage]
    unreachable: list[str] = Field(default_factory=list)


class VolumePage(BaseModel):
    """``GET /volumes``: volumes of the selected nodes, and the nodes that did not answer."""

    items: list[FleetVolume]
    unreachable: list[str] = Field(default_factory=list)


class NetworkPage(BaseModel):
    """``GET /networks``: networks of the selected nodes, and the nodes that did not answer."""

    items: list[FleetNetwork]
    unreachable: list[str] = Field(default_factory=list)
