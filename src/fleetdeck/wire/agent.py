"""The agent routes' request bodies, and the answers of agent routes that the server reads.

The bodies are what the agent's routes validate (``api_support.read_body``) and what the
server's ``AgentClient`` builds: one definition of the contract. They ignore unknown fields
(pydantic's default), unlike :class:`~fleetdeck.wire.base.RequestBody`: a server one release
newer may send a field an older agent does not know yet. Docker's own documents (inspect,
services, tasks, a service spec…) stay JSON objects: the server hands them on as the engine
wrote them. The answers are the agent's own small ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from fleetdeck.container_spec import ContainerSpec, RecreateOptions

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
