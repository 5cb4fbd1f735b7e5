"""The agent's stream messages (docs/dev/fleet-core.md), one model per message ``type``.

The server validates every line against them before it touches its state: a message of the
wrong shape is skipped and counted, never half-applied. Extra keys are ignored (a newer agent
may add some); an unknown ``type`` is refused like a bad shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from fleetdeck.wire.containers import EngineContainer
from fleetdeck.wire.fleet import AgentInfo


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
