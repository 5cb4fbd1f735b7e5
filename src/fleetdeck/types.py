"""Wire models shared by the server, the agent and the client (see docs/dev/fleet-core.md).

They are the typed boundary between processes: the agent produces them, the server stores
and serves them, the CLI prints them. JSON keys are contracts; add fields, never rename.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, PlainSerializer, computed_field

# Images, volumes and networks live in their own module (this one was past 400 lines); they
# are re-exported here, where every other wire model is found.
from fleetdeck.resource_types import ImageInfo as ImageInfo
from fleetdeck.resource_types import NetworkInfo as NetworkInfo
from fleetdeck.resource_types import SizeStatus as SizeStatus
from fleetdeck.resource_types import VolumeInfo as VolumeInfo

if TYPE_CHECKING:
    from collections.abc import Mapping

#: On containers and Swarm services that fleetdeck creates from a pinned ``repo@sha256:…``:
#: the image reference the Compose file wrote (e.g. ``registry:5000/web:1``), for display.
IMAGE_REF_LABEL = "io.fleetdeck.image"


def image_reference(image: str, labels: Mapping[str, str]) -> tuple[str, str | None]:
    """Split what an engine reports as a container's image into (reference, digest).

    The reference is what a person wrote: the ``io.fleetdeck.image`` label when fleetdeck
    pinned the image, else the ``repo:tag`` part of ``repo:tag@sha256:…`` (as the docker
    CLI's Swarm deploys write it), else the image as reported (no tag is known: a bare
    ``repo@sha256:…`` stays whole rather than pass for ``repo:latest``). The digest is the
    ``sha256:…`` after ``@``, or None when the image is not pinned.
    """
    written = labels.get(IMAGE_REF_LABEL, "")
    name, at, digest = image.partition("@")
    if not at:
        return written or image, None
    tagged = ":" in name.rsplit("/", 1)[-1]
    return written or (name if tagged else image), digest


class Role(StrEnum):
    """What a user or token may do: viewer reads, operator operates, admin manages."""

    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        """Order of privilege: viewer < operator < admin."""
        return {"viewer": 0, "operator": 1, "admin": 2}[self.value]

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        return self.rank >= needed.rank


class PortBinding(BaseModel):
    """A published or exposed port of a container."""

    private_port: int
    public_port: int | None = None
    ip: str | None = None
    protocol: str = "tcp"


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


class EngineContainer(BaseModel):
    """One container as its agent knows it."""

    id: str
    name: str
    image: str
    image_id: str = ""
    state: str
    #: Docker's text as the engine worded it when last read; the server serves it derived
    #: again from the facts below at the time it answers (see fleetdeck.container_status).
    status: str = ""
    health: str | None = None
    created: datetime
    started_at: datetime | None = None
    #: When the container last stopped (None if never): "Exited (N) … ago" counts from it.
    finished_at: datetime | None = None
    #: The last run's exit code (inspect ``State.ExitCode``); None from agents that predate it.
    exit_code: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    ports: list[PortBinding] = Field(default_factory=list)
    restart_count: int = 0
    stack: str | None = None
    service: str | None = None
    #: The init process's pid on the agent's host (inspect ``State.Pid``; 0 when not running).
    #: Only the agent's metrics sampler uses it: never serialised, never on the wire.
    pid: int = Field(default=0, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def image_ref(self) -> str:
        """The image as the user wrote it (tag), even when the engine reports a digest."""
        return image_reference(self.image, self.labels)[0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def image_digest(self) -> str | None:
        """The ``sha256:…`` digest the container was created from, when it was pinned."""
        return image_reference(self.image, self.labels)[1]


class Container(EngineContainer):
    """One container as the server serves it: with where it runs."""

    environment: str
    node: str


class ContainerStats(BaseModel):
    """A one-shot resource reading of a container."""

    cpu_percent: float
    memory_usage: int
    memory_limit: int
    memory_percent: float
    net_rx: int
    net_tx: int
    blk_read: int
    blk_write: int
    pids: int
    time: datetime


class ExecResult(BaseModel):
    """Output and exit code of a command run in a container."""

    exit_code: int
    output: str


class LogLine(BaseModel):
    """One line of a container's output."""

    stream: str  # stdout|stderr
    time: datetime | None = None
    line: str


def _isoformat(value: datetime) -> str:
    return value.isoformat()


#: A time the server writes as ``datetime.isoformat()`` (``+00:00``, not pydantic's ``Z``):
#: the metrics and capacity answers have always had that form, and scripts may compare it.
IsoDatetime = Annotated[datetime, PlainSerializer(_isoformat, return_type=str, when_used="json")]


class MetricName(BaseModel):
    """One metric the store keeps (``GET /metrics/names``)."""

    name: str
    unit: str
    kinds: list[str]
    description: str
    instance: str | None = None


class MetricPoint(BaseModel):
    """One step's average, and the lowest and highest sample in it."""

    time: IsoDatetime
    value: float
    min: float | None = None
    max: float | None = None


class MetricSeries(BaseModel):
    """The points of one instance (a mount point, an interface, or "" for none)."""

    instance: str
    target: str | None = None  # the container's name, for ENV/NODE/* queries
    points: list[MetricPoint]


class MetricsResult(BaseModel):
    """``GET /metrics/query``: a metric's averages per step over ``[start, end)``."""

    target: str
    kind: str
    metric: str
    unit: str
    start: IsoDatetime
    end: IsoDatetime
    step: int
    resolution: str = "raw"
    series: list[MetricSeries]


class CapacityContainer(BaseModel):
    """A running container's p95 use against its limits (None: no data or no limit)."""

    container: str
    cpu_cores_p95: float | None
    cpu_limit_cores: float | None
    memory_working_set_bytes_p95: float | None
    memory_limit_bytes: float | None
    no_limits: list[str]
    limits_far_above_use: list[str]


class CapacityNode(BaseModel):
    """One node's p50/p95 CPU and memory over the window, and its headroom."""

    environment: str
    node: str
    status: str
    step: int
    samples: int
    cpu_count: float | None
    cpu_cores_p50: float | None
    cpu_cores_p95: float | None
    cpu_headroom_cores: float | None
    memory_total_bytes: float | None
    memory_used_bytes_p50: float | None
    memory_used_bytes_p95: float | None
    memory_headroom_bytes: float | None
    containers: list[CapacityContainer]


class CapacityReport(BaseModel):
    """``GET /reports/capacity``: the capacity report over a window."""

    window: str
    start: IsoDatetime
    end: IsoDatetime
    step: int
    oversize_factor: float
    nodes: list[CapacityNode]


# ---------------------------------------------------------------- agent stream messages
# What the server reads from an agent's streams (docs/dev/fleet-core.md), one model per
# message ``type``. The server validates every line against them before it touches its
# state: a message of the wrong shape is skipped and counted, never half-applied. Extra keys
# are ignored (a newer agent may add some); an unknown ``type`` is refused like a bad shape.


def _iso_time(value: str) -> str:
    datetime.fromisoformat(value)  # ValueError (a validation error) unless ISO 8601
    return value


#: An ISO 8601 time kept as the agent wrote it (it is echoed back as ``metrics_since``).
IsoTimeText = Annotated[str, AfterValidator(_iso_time)]
#: A metric's value; None where the agent could not read it.
MetricValue = float | None


class SnapshotMessage(BaseModel):
    """``snapshot``: the node's whole inventory, first on every inventory stream."""

    type: Literal["snapshot"]
    rev: int
    info: AgentInfo
    containers: list[EngineContainer] = Field(default_factory=list)


class UpsertMessage(BaseModel):
    """``upsert``: a container was created or changed."""

    type: Literal["upsert"]
    rev: int
    container: EngineContainer


class DeleteMessage(BaseModel):
    """``delete``: a container is gone."""

    type: Literal["delete"]
    rev: int
    id: str


class InfoMessage(BaseModel):
    """``info``: the engine went down or up, or its Swarm state changed."""

    type: Literal["info"]
    rev: int
    info: AgentInfo


class HeartbeatMessage(BaseModel):
    """``heartbeat``: every 2 s, so that silence means the node is lost."""

    type: Literal["heartbeat"]
    rev: int


class HostMetrics(BaseModel, extra="allow"):
    """A metrics message's ``host`` part: figures by name, filesystems and interfaces."""

    __pydantic_extra__: dict[str, MetricValue] = Field(init=False)
    filesystems: dict[str, dict[str, MetricValue]] = Field(default_factory=dict)
    interfaces: dict[str, dict[str, MetricValue]] = Field(default_factory=dict)


class ContainerMetrics(BaseModel, extra="allow"):
    """One running container's part of a metrics message: its name and figures by name."""

    __pydantic_extra__: dict[str, MetricValue] = Field(init=False)
    name: str = ""


class MetricsMessage(BaseModel):
    """``metrics``: one sample of the host and its running containers."""

    type: Literal["metrics"]
    rev: int = 0
    time: IsoTimeText
    host: HostMetrics = Field(default_factory=HostMetrics)
    containers: dict[str, ContainerMetrics] = Field(default_factory=dict)


#: One line of ``GET /v1/inventory/stream``.
InventoryMessage = Annotated[
    SnapshotMessage
    | UpsertMessage
    | DeleteMessage
    | InfoMessage
    | HeartbeatMessage
    | MetricsMessage,
    Field(discriminator="type"),
]


class LogSourceMessage(BaseModel):
    """``source``: which container the following lines of ``id`` come from."""

    type: Literal["source"]
    id: str
    name: str | None = None
    stack: str | None = None
    service: str | None = None


#: One shipped line: container id, stream, engine time in ns, text.
ShippedLine = tuple[str, str, int, str]


class LogLinesMessage(BaseModel):
    """``lines``: a batch of shipped lines."""

    type: Literal["lines"]
    lines: list[ShippedLine]


class LogStatusMessage(BaseModel):
    """``status``: lines the agent dropped per container, and its buffer's fill."""

    type: Literal["status"]
    dropped: dict[str, int] = Field(default_factory=dict)
    buffered: int = 0


#: One line of ``POST /v1/logs/stream``.
LogStreamMessage = Annotated[
    LogSourceMessage | LogLinesMessage | LogStatusMessage, Field(discriminator="type")
]


class PullProgress(BaseModel, extra="allow"):
    """One line of ``POST /v1/images/pull``: Docker's progress, ``done``, or an ``error``."""

    status: str | None = None
    error: str | None = None
    image: str | None = None
