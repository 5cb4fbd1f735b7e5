"""What a new container is made of (``fleetdeck run``, the UI's Create form): a bounded model.

The server judges a spec against the stack hardening rules
(:mod:`fleetdeck.server.fleet.container_rules`) before its agent turns it into an Engine API
create body (:mod:`fleetdeck.agent.engine_create`). Every list and string is bounded, so no
request can make either of them hold much, and an unknown field is refused (a misspelt
option is an error, not silently nothing), as in every request body.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from fleetdeck.wire.base import RequestBody

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"
Short = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Text = Annotated[str, StringConstraints(max_length=8192)]
Path = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")


class PortSpec(RequestBody):
    """A container port, published on the host when ``host_port`` is given."""

    container_port: int = Field(ge=1, le=65535)
    host_port: int | None = Field(default=None, ge=0, le=65535)
    host_ip: Annotated[str, StringConstraints(max_length=64)] | None = None
    protocol: Literal["tcp", "udp", "sctp"] = "tcp"


class MountSpec(RequestBody):
    """A named volume (``source`` its name) or a bind of a host path (admins only)."""

    type: Literal["volume", "bind"] = "volume"
    source: Path
    target: Path
    read_only: bool = False

    @field_validator("target")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("a mount target is an absolute path in the container")
        return value


class ContainerSpec(RequestBody):
    """A container to create (and start) on one node."""

    image: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    name: Annotated[str, StringConstraints(max_length=128, pattern=NAME_PATTERN)] | None = None
    env: list[Text] = Field(default_factory=list, max_length=500)
    cmd: list[Text] | None = Field(default=None, max_length=200)
    entrypoint: list[Text] | None = Field(default=None, max_length=50)
    ports: list[PortSpec] = Field(default_factory=list, max_length=100)
    mounts: list[MountSpec] = Field(default_factory=list, max_length=50)
    #: Networks to join; the first is the container's primary one (none: the default bridge).
    networks: list[Short] = Field(default_factory=list, max_length=20)
    network_mode: Literal["host", "none"] | None = None
    restart: Literal["no", "always", "unless-stopped", "on-failure"] = "no"
    labels: dict[Short, Text] = Field(default_factory=dict, max_length=200)
    user: Short | None = None
    working_dir: Path | None = None
    privileged: bool = False
    cap_add: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=50
    )
    security_opt: list[Short] = Field(default_factory=list, max_length=20)
    devices: list[Path] = Field(default_factory=list, max_length=20)
    pid: Literal["host"] | None = None
    ipc: Literal["host"] | None = None
    pull: Literal["missing", "always", "never"] = "missing"
    start: bool = True

    @field_validator("networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for name in value:
            if name in ("host", "none", "default") or ":" in name:
                # The host's namespace is network_mode's (judged as host-network); another
                # container's ("container:ID") is not offered.
                raise ValueError(f"{name!r} is not a network name (host: network_mode)")
        return value

    @field_validator("env")
    @classmethod
    def _assignments(cls, value: list[str]) -> list[str]:
        for entry in value:
            key = entry.partition("=")[0]
            if not key or "=" not in entry or any(c.isspace() for c in key):
                raise ValueError(f"an environment entry is KEY=VALUE, not {entry[:40]!r}")
        return value


class RecreateOptions(RequestBody):
    """How to recreate a container."""

    pull: bool = False
    #: Seconds the old container gets to stop (None: its own stop timeout).
    timeout: int | None = Field(default=None, ge=0, le=3600)
