"""The parts of a service: ports, mounts, networks, dependencies, healthcheck, build.

Each is the long syntax of its Compose key; the short syntaxes are turned into these by the
service's validators (see :mod:`fleetdeck.compose.short_syntax`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from fleetdeck.compose.model_base import (
    ComposeModel,
    Duration,
    EnvMap,
    HostMap,
    Size,
    StrList,
    StrMap,
    base_dir,
)
from fleetdeck.compose.short_syntax import resolve_path
from fleetdeck.compose.values import ComposeValueError

_REMOTE_CONTEXT = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/)")


class PortSpec(ComposeModel):
    """A published or exposed port (long syntax); ``published`` is ``"8080"`` or a range."""

    target: int = Field(ge=1, le=65535)
    published: str | None = Field(default=None, pattern=r"^\d+(?:-\d+)?$")
    host_ip: str | None = None
    protocol: Literal["tcp", "udp", "sctp"] = "tcp"
    mode: Literal["ingress", "host"] = "ingress"
    name: str | None = None
    app_protocol: str | None = None


class BindOptions(ComposeModel):
    """Options of a bind mount."""

    propagation: Literal["shared", "rshared", "slave", "rslave", "private", "rprivate"] | None = (
        None
    )
    create_host_path: bool | None = None
    selinux: Literal["z", "Z"] | None = None


class VolumeOptions(ComposeModel):
    """Options of a named-volume mount."""

    nocopy: bool | None = None
    subpath: str | None = None


class TmpfsOptions(ComposeModel):
    """Options of a tmpfs mount."""

    size: Size | None = None
    mode: int | None = None


class ServiceVolume(ComposeModel):
    """A mount into a service's containers: named volume, bind mount or tmpfs."""

    type: Literal["volume", "bind", "tmpfs"]
    source: str | None = None
    target: str
    read_only: bool = False
    consistency: str | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None

    @model_validator(mode="after")
    def _check(self) -> ServiceVolume:
        if not self.target.startswith("/"):
            raise ValueError(f"the target {self.target!r} must be an absolute path")
        if self.type == "bind" and not self.source:
            raise ValueError("a bind mount needs a source")
        if self.type == "tmpfs" and self.source:
            raise ValueError("a tmpfs mount has no source")
        return self


class ServiceNetwork(ComposeModel):
    """How a service joins one network."""

    aliases: StrList = []
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: StrList = []
    mac_address: str | None = None
    priority: int | None = None
    driver_opts: StrMap = {}


class Dependency(ComposeModel):
    """One entry of ``depends_on``."""

    condition: Literal["service_started", "service_healthy", "service_completed_successfully"] = (
        "service_started"
    )
    restart: bool = False
    required: bool = True


class Healthcheck(ComposeModel):
    """A container healthcheck; ``test`` is always a list (``["CMD-SHELL", "…"]`` for a string)."""

    test: list[str] | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    start_period: Duration | None = None
    start_interval: Duration | None = None
    retries: int | None = Field(default=None, ge=0)
    disable: bool | None = None

    @field_validator("test", mode="before")
    @classmethod
    def _test(cls, value: Any) -> Any:
        if isinstance(value, str):
            return ["CMD-SHELL", value]
        if isinstance(value, list) and value and value[0] not in ("NONE", "CMD", "CMD-SHELL"):
            raise ComposeValueError(
                f"a healthcheck test list must start with CMD, CMD-SHELL or NONE, not {value[0]!r}"
            )
        return value


class Build(ComposeModel):
    """How to build a service's image (on the node it runs on)."""

    context: str = "."
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: EnvMap = {}
    target: str | None = None
    labels: StrMap = {}
    cache_from: StrList = []
    cache_to: StrList = []
    network: str | None = None
    shm_size: Size | None = None
    extra_hosts: HostMap = {}
    no_cache: bool | None = None
    pull: bool | None = None
    platforms: StrList = []

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, str):
            data = {"context": data}
        if isinstance(data, Mapping):
            context = data.get("context", ".")
            if isinstance(context, str) and not _REMOTE_CONTEXT.match(context):
                data = {**data, "context": resolve_path(context, base_dir(info))}
        return data


class FileRef(ComposeModel):
    """A service's use of a secret or config (mounted as a file)."""

    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None


class DeviceMapping(ComposeModel):
    """A host device made available in the container."""

    source: str
    target: str | None = None
    permissions: str = "rwm"


class DeviceRequest(ComposeModel):
    """A request for devices (GPUs) by capability; ``count`` -1 means all of them."""

    capabilities: StrList
    driver: str | None = None
    count: int | None = None
    device_ids: StrList = []
    options: StrMap = {}

    @field_validator("count", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        return -1 if value == "all" else value

    @model_validator(mode="after")
    def _exclusive(self) -> DeviceRequest:
        if self.count is not None and self.device_ids:
            raise ValueError("count and device_ids are mutually exclusive")
        return self


class Logging(ComposeModel):
    """A logging driver and its options."""

    driver: str | None = None
    options: StrMap = {}


class Ulimit(ComposeModel):
    """One ulimit; a single number in the file sets both soft and hard."""

    soft: int
    hard: int

    @model_validator(mode="before")
    @classmethod
    def _single(cls, data: Any) -> Any:
        if isinstance(data, int | str) and not isinstance(data, bool):
            return {"soft": data, "hard": data}
        return data


class EnvFileRef(ComposeModel):
    """An env file read into a service's environment (path made absolute)."""

    path: str
    required: bool = True
