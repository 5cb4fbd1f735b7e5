"""Wire models of an engine's images, volumes and networks.

The agent builds them, the server validates them again when it gathers them from every node
(an agent's answer is input too), the CLI and the UI show them. Whether something is in use
is computed from the keys the agent sends (``containers``), never sent separately, so the two
cannot disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field

#: How a volume's ``size`` was found: ``measured`` by the engine's disk-usage walk;
#: ``not_requested`` (the listing did not ask: the walk can be slow); ``timed_out`` (the walk
#: took longer than the agent waits); ``unknown`` (the engine did not report this volume: a
#: driver that cannot tell, or a volume made after the walk began); ``failed`` (the engine
#: refused, see ``size_error``).
#: How long an agent waits for its engine's disk-usage walk (``GET /system/df``) when a
#: volume listing asks for sizes: the walk reads every file of every volume (and, before
#: Engine API 1.42, sizes every image layer and container too).
DISK_USAGE_WAIT_S = 20.0

SizeStatus = Literal["measured", "not_requested", "timed_out", "unknown", "failed"]


class ImageInfo(BaseModel):
    """An image on one engine, and the containers (running or stopped) created from it."""

    id: str
    tags: list[str] = Field(default_factory=list)
    digests: list[str] = Field(default_factory=list)
    size: int = 0
    created: datetime | None = None
    #: How many containers of the engine, running or stopped, use the image; None when the
    #: agent could not tell (an agent older than this key).
    containers: int | None = Field(default=None, ge=0)
    #: Their names, sorted.
    used_by: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def in_use(self) -> bool | None:
        """Whether any container uses the image (None when not known)."""
        return None if self.containers is None else self.containers > 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def dangling(self) -> bool:
        """Untagged (Docker's ``dangling=true``): only reachable by id or digest."""
        return not self.tags


class VolumeInfo(BaseModel):
    """A volume on one engine, the containers that mount it and (when asked) its size."""

    name: str
    driver: str = "local"
    mountpoint: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    created: datetime | None = None
    scope: str = "local"
    #: How many containers, running or stopped, mount the volume (None: not known).
    containers: int | None = Field(default=None, ge=0)
    #: Their names, sorted.
    used_by: list[str] = Field(default_factory=list)
    #: Bytes the volume's files take, when ``size_status`` is ``measured``.
    size: int | None = Field(default=None, ge=0)
    size_status: SizeStatus = "not_requested"
    #: The engine's reason when ``size_status`` is ``failed``.
    size_error: str | None = Field(default=None, max_length=500)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def in_use(self) -> bool | None:
        """Whether any container mounts the volume (None when not known)."""
        return None if self.containers is None else self.containers > 0


class NetworkInfo(BaseModel):
    """A network on one engine."""

    id: str
    name: str
    driver: str
    scope: str = "local"
    attachable: bool = False
    internal: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    subnets: list[str] = Field(default_factory=list)
    containers: list[str] = Field(default_factory=list)


# ------------------------------------------------------------ fleet-wide listings (API)


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


class PruneResult(BaseModel):
    """What a prune removed and how many bytes it gave back."""

    deleted: list[str] = Field(default_factory=list)
    space_reclaimed: int = 0
