"""A Compose service, with every key fleetdeck supports in its one canonical form.

No ``from __future__ import annotations`` here: pydantic resolves the field types at class
creation, and keeping the imports evaluated keeps that visible to linters.
"""

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from fleetdeck.compose.model_base import (
    Command,
    ComposeModel,
    Cpus,
    Duration,
    EnvMap,
    HostMap,
    Size,
    StrList,
    StrMap,
    base_dir,
)
from fleetdeck.compose.model_deploy import Deploy
from fleetdeck.compose.model_parts import (
    Build,
    Dependency,
    DeviceMapping,
    DeviceRequest,
    EnvFileRef,
    FileRef,
    Healthcheck,
    Logging,
    PortSpec,
    ServiceNetwork,
    ServiceVolume,
    Ulimit,
)
from fleetdeck.compose.short_syntax import (
    parse_devices,
    parse_file_refs,
    parse_ports,
    parse_volumes,
    resolve_path,
)
from fleetdeck.compose.values import ComposeValueError, mapping_of, names_to_map, scalar_text

_RESTART = r"^(?:no|always|unless-stopped|on-failure(?::\d+)?)$"
_PULL_POLICY = r"^(?:always|never|missing|if_not_present|build|daily|weekly|every_\w+)$"
_PROFILE = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"


class Service(ComposeModel):
    """One service of a project (its containers, or its Swarm service)."""

    image: str | None = None
    build: Build | None = None
    platform: str | None = None
    pull_policy: str | None = Field(default=None, pattern=_PULL_POLICY)
    command: Command = None
    entrypoint: Command = None
    environment: EnvMap = {}
    env_file: list[EnvFileRef] = []
    labels: StrMap = {}
    ports: list[PortSpec] = []
    expose: StrList = []
    volumes: list[ServiceVolume] = []
    volumes_from: StrList = []
    tmpfs: StrList = []
    networks: dict[str, ServiceNetwork] = {}
    network_mode: str | None = None
    depends_on: dict[str, Dependency] = {}
    links: StrList = []
    external_links: StrList = []
    healthcheck: Healthcheck | None = None
    restart: str | None = Field(default=None, pattern=_RESTART)
    deploy: Deploy | None = None
    scale: int | None = Field(default=None, ge=0)
    secrets: list[FileRef] = []
    configs: list[FileRef] = []
    user: str | None = None
    group_add: StrList = []
    working_dir: str | None = None
    read_only: bool | None = None
    cap_add: StrList = []
    cap_drop: StrList = []
    security_opt: StrList = []
    privileged: bool | None = None
    devices: list[DeviceMapping] = []
    gpus: list[DeviceRequest] = []
    logging: Logging | None = None
    ulimits: dict[str, Ulimit] = {}
    sysctls: StrMap = {}
    stop_grace_period: Duration | None = None
    stop_signal: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    extra_hosts: HostMap = {}
    dns: StrList = []
    dns_search: StrList = []
    dns_opt: StrList = []
    init: bool | None = None
    shm_size: Size | None = None
    mem_limit: Size | None = None
    mem_reservation: Size | None = None
    memswap_limit: Size | None = None
    cpus: Cpus | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    oom_score_adj: int | None = None
    pid: str | None = None
    ipc: str | None = None
    userns_mode: str | None = None
    cgroup_parent: str | None = None
    tty: bool | None = None
    stdin_open: bool | None = None
    profiles: list[Annotated[str, StringConstraints(pattern=_PROFILE)]] = []
    container_name: str | None = None

    @field_validator("restart", mode="before")
    @classmethod
    def _restart(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted `restart: no` as false.
        return "no" if value is False else value

    @field_validator("env_file", mode="before")
    @classmethod
    def _env_file(cls, value: Any, info: ValidationInfo) -> Any:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ComposeValueError("env_file must be a path or a list")
        result: list[Any] = []
        for item in items:
            entry = {"path": item} if isinstance(item, str) else item
            if isinstance(entry, Mapping) and isinstance(entry.get("path"), str):
                entry = {**entry, "path": resolve_path(entry["path"], base_dir(info))}
            result.append(entry)
        return result

    @field_validator("ports", mode="before")
    @classmethod
    def _ports(cls, value: Any) -> Any:
        return parse_ports(value)

    @field_validator("volumes", mode="before")
    @classmethod
    def _volumes(cls, value: Any, info: ValidationInfo) -> Any:
        return parse_volumes(value, base_dir(info))

    @field_validator("devices", mode="before")
    @classmethod
    def _devices(cls, value: Any) -> Any:
        return parse_devices(value)

    @field_validator("secrets", "configs", mode="before")
    @classmethod
    def _file_refs(cls, value: Any, info: ValidationInfo) -> Any:
        return parse_file_refs(value, info.field_name or "secrets")

    @field_validator("networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        return {k: {} if v is None else v for k, v in names_to_map(value, "networks").items()}

    @field_validator("depends_on", mode="before")
    @classmethod
    def _depends_on(cls, value: Any) -> Any:
        return {k: {} if v is None else v for k, v in names_to_map(value, "depends_on").items()}

    @field_validator("ulimits", mode="before")
    @classmethod
    def _ulimits(cls, value: Any) -> Any:
        return mapping_of(value, "ulimits")

    @field_validator("gpus", mode="before")
    @classmethod
    def _gpus(cls, value: Any) -> Any:
        if value == "all":
            return [{"capabilities": ["gpu"], "count": -1}]
        if isinstance(value, list):
            return [
                {"capabilities": ["gpu"], **item} if isinstance(item, Mapping) else item
                for item in value
            ]
        raise ComposeValueError("gpus must be `all` or a list of device requests")

    @field_validator("expose", mode="before")
    @classmethod
    def _expose(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [scalar_text(item, "an exposed port") for item in value]
        return value
