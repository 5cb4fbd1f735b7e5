"""The agent routes' request bodies, and the answers of agent routes that the server reads.

The bodies are what the agent's routes validate (``api_support.read_body``) and what the
server's ``AgentClient`` builds: one definition of the contract. Docker's own documents
(inspect, services, tasks, a service spec…) stay JSON objects: the server hands them on as
the engine wrote them. The answers are the agent's own small ones.

Version skew (a server works with agents one protocol older, :mod:`fleetdeck.protocol`):
the top-level bodies ignore unknown fields (pydantic's default), but the container specs
nested in them (:class:`~fleetdeck.container_spec.ContainerSpec`, ``RecreateOptions``) are
``RequestBody`` models that refuse them, and v0.1.0's agents are frozen as they are. So the
rule is on the server's side: **it never sends an agent a field that agent does not know**.
A field added to a body (or to a model nested in one) after protocol 1 says so with
``json_schema_extra=since(N)``; the server's client (:func:`newer_fields`) leaves it out for
an agent of an older protocol when it holds its default (so the old agent does what it always
did), and refuses the call with ``AgentIncompatibleError`` when it does not (the operator
asked for something that agent cannot do). ``tests/unit/server/test_agent_bodies_skew.py``
validates every body the server sends against the previous release's own models.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from fleetdeck.container_spec import ContainerSpec, RecreateOptions

#: The key of a field's ``json_schema_extra`` naming the protocol that added the field.
SINCE_KEY = "since_protocol"


def since(protocol: int) -> dict[str, Any]:
    """``json_schema_extra`` for a body field added in ``protocol`` (older agents lack it)."""
    return {SINCE_KEY: protocol}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds: ``M``, ``M | None``, ``list[M]``, ``dict[str, M]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, dict):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


#: A field an older agent lacks: its dotted path, whether it holds its default, and the
#: JSON object it is a key of (so that the caller can leave it out).
NewerField = tuple[str, bool, dict[str, Any], str]


def newer_fields(
    model: type[BaseModel], data: Any, protocol: int, prefix: str = ""
) -> list[NewerField]:
    """Fields of ``data`` (a dumped ``model``) that an agent of ``protocol`` does not know.

    Each is ``(path, at_default, parent, key)``: ``parent[key]`` is the value in ``data``;
    ``at_default`` says whether it is the field's default (leaving it out changes nothing).
    """
    found: list[NewerField] = []
    if not isinstance(data, dict):
        return found
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in data:
            continue
        extra = field.json_schema_extra
        added = extra.get(SINCE_KEY) if isinstance(extra, dict) else None
        if isinstance(added, int) and added > protocol:
            default = field.get_default(call_default_factory=True)
            dumped = default.model_dump(mode="json") if isinstance(default, BaseModel) else default
            found.append((prefix + key, data[key] == dumped, data, key))
            continue
        value = data[key]
        items = value if isinstance(value, list) else [value]
        for inner in _models_in(field.annotation):
            for item in items:
                found += newer_fields(inner, item, protocol, f"{prefix}{key}.")
    return found


# --------------------------------------------------------------------- request bodies

#: Registry credentials as the server sends them with a container create or recreate.
Auth = dict[
    Annotated[str, StringConstraints(max_length=64)],
    Annotated[str, StringConstraints(max_length=8192)],
]


class RecreateBody(RecreateOptions):
    """``POST /v1/containers/{id}/recreate``: the options and the registry's credentials."""

    auth: Auth | None = Field(default=None, max_length=8)


class ContainerCreateBody(BaseModel):
    """``POST /v1/containers``: the spec and the registry's credentials."""

    spec: ContainerSpec
    auth: Auth | None = Field(default=None, max_length=8)


class LogStreamBody(BaseModel):
    """``POST /v1/logs/stream``: container id → ``[time_ns, lines seen at that time]``."""

    cursors: dict[str, tuple[int, int]] = Field(default_factory=dict)


class RegistryAuth(BaseModel):
    """Credentials for one registry (sent to the engine, never stored by the agent)."""

    username: str
    password: str
    serveraddress: str = ""


class PullBody(BaseModel):
    """``POST /v1/images/pull``."""

    image: str = Field(min_length=1)
    auth: RegistryAuth | None = None


class VolumeBody(BaseModel):
    """``POST /v1/volumes``."""

    name: str = Field(min_length=1)
    driver: str | None = None
    labels: dict[str, str] | None = None


class NetworkBody(BaseModel):
    """``POST /v1/networks``."""

    name: str = Field(min_length=1)
    driver: str | None = None
    labels: dict[str, str] | None = None
    attachable: bool = False


class ConnectBody(BaseModel):
    """``POST /v1/networks/{id}/connect`` and ``.../disconnect``."""

    container: str = Field(min_length=1)
    force: bool = False


class NodeUpdateBody(BaseModel):
    """``POST /v1/swarm/nodes/{id}``: labels set to null are removed."""

    availability: str | None = None
    labels: dict[str, str | None] | None = None


class ScaleBody(BaseModel):
    """``POST /v1/swarm/services/{id}/scale``."""

    replicas: int = Field(ge=0)


class UpgradeBody(BaseModel):
    """``POST /v1/upgrade``: move to the server's agent build (``fleetdeck agents upgrade``)."""

    #: The server's URL as this host reaches it (where the build is fetched from).
    server: str | None = Field(default=None, max_length=2048, pattern=r"^https://")
    #: Seconds the new agent gets to come back before the host puts the old one back.
    timeout_seconds: int = Field(default=120, ge=10, le=1800)


class ServiceImageBody(BaseModel):
    """``POST /v1/swarm/services/{id}/image``."""

    image: str = Field(min_length=1)


class StackContainerCreateBody(BaseModel):
    """``POST /v1/stacks/containers``."""

    name: str = Field(min_length=1, max_length=255)
    config: dict[str, Any]
    networks: dict[str, dict[str, Any]] = {}


class ReconnectBody(BaseModel):
    """``POST /v1/stacks/networks/{net}/reconnect``."""

    container: str = Field(min_length=1)
    aliases: list[str] = []
    keep_address: bool = True


class HostDigestBody(BaseModel):
    """``POST /v1/stacks/images/digest``."""

    image: str = Field(min_length=1)
    auth: RegistryAuth | None = None


class FilesBody(BaseModel):
    """``PUT /v1/stacks/files/{stack}``: file contents, base64."""

    files: dict[str, str]


class PruneBody(BaseModel):
    """``DELETE /v1/stacks/files/{stack}``."""

    keep: list[str] = []


class ServiceCreateBody(BaseModel):
    """``POST /v1/swarm/stacks/services``: a full Swarm ServiceSpec.

    ``auth``: the image registry's credentials, handed to the engine as ``X-Registry-Auth``
    so every node can pull a private image (``docker stack deploy --with-registry-auth``).
    """

    spec: dict[str, Any]
    auth: RegistryAuth | None = None


class ServiceUpdateBody(BaseModel):
    """``POST /v1/swarm/stacks/services/{id}/update``: the new spec and the version it replaces."""

    spec: dict[str, Any]
    version: int = Field(ge=0)
    auth: RegistryAuth | None = None


class SwarmDigestBody(BaseModel):
    """``POST /v1/swarm/stacks/images/digest``: a tag, and its registry's credentials."""

    image: str = Field(min_length=1)
    auth: RegistryAuth | None = None


class NetworkSpecBody(BaseModel):
    """``POST /v1/swarm/stacks/networks``: an overlay network of a stack."""

    name: str = Field(min_length=1)
    labels: dict[str, str]
    driver: str = "overlay"
    attachable: bool = True
    internal: bool = False
    options: dict[str, str] = {}
    ipam: dict[str, Any] | None = None


class DataBody(BaseModel):
    """``POST /v1/swarm/stacks/secrets|configs``: a name, labels and the base64 content."""

    name: str = Field(min_length=1, max_length=64)
    labels: dict[str, str]
    data: str


# --------------------------------------------------------------------- answers


class CreatedId(BaseModel, extra="allow"):
    """What a create answers: the new object's id (container, image build, secret, config)."""

    id: str


class ImageDigest(BaseModel, extra="allow"):
    """The registry's manifest digest of an image (``POST .../images/digest``)."""

    digest: str | None = None


class FilesWritten(BaseModel, extra="allow"):
    """``PUT /v1/stacks/files/{stack}``: each key's path on the host."""

    paths: dict[str, str]


class StackProject(BaseModel, extra="allow"):
    """``GET /v1/stacks/projects/{project}``: the project's objects, as the engine shows them."""

    containers: list[dict[str, Any]] | None = None
    networks: list[dict[str, Any]] | None = None
    volumes: list[dict[str, Any]] | None = None
