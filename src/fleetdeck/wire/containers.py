"""Containers as the agent knows them and the server serves them, and what is read from them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, computed_field, field_validator

from fleetdeck.wire.base import RequestBody

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


class PortBinding(BaseModel):
    """A published or exposed port of a container."""

    private_port: int
    public_port: int | None = None
    ip: str | None = None
    protocol: str = "tcp"


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


class ExecBody(RequestBody):
    """A command to run in a container (``POST /api/v1/containers/{ref}/exec``).

    The server forwards the same body to the agent's ``POST /v1/containers/{id}/exec``.
    ``env`` is a list of ``NAME=value`` lines, as Docker takes them; a mapping of NAME to
    value is accepted too and becomes those lines (in its order).
    """

    cmd: list[str] = Field(min_length=1)
    user: str | None = None
    workdir: str | None = None
    env: list[str] | None = None

    @field_validator("env", mode="before")
    @classmethod
    def _env_lines(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and all(
            isinstance(item, str) for pair in value.items() for item in pair
        ):
            return [f"{name}={val}" for name, val in value.items()]
        return value


class ContainerPage(BaseModel):
    """``GET /containers``: one page of the fleet's containers and how many match in all."""

    items: list[Container]
    total: int


class ActionResult(BaseModel):
    """What a container operation did: the container as the inventory sees it now.

    ``container`` is None once the operation removed it.
    """

    ok: bool = True
    container: Container | None = None


class CreateFinding(BaseModel):
    """A dangerous setting of a created container (only an admin's may have one)."""

    rule: str
    message: str


class CreateResult(ActionResult):
    """What ``POST /containers`` answers: the container and its dangerous settings."""

    findings: list[CreateFinding] = Field(default_factory=list)
