"""The Compose project: services plus the networks, volumes, secrets and configs they use.

A :class:`Project` returned by :func:`fleetdeck.compose.load_project` is fully resolved:
variables substituted, files merged, relative paths absolute, env files read into
``environment``, profiles applied, every polymorphic value in its canonical form, and the
implicit ``default`` network and resource names filled in as Docker Compose does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from fleetdeck.compose.model_base import (
    ComposeModel,
    NullableEntries,
    StrMap,
    base_dir,
    compact,
)
from fleetdeck.compose.model_service import Service
from fleetdeck.compose.short_syntax import resolve_path
from fleetdeck.compose.values import ComposeValueError

__all__ = ["Config", "Network", "Project", "Secret", "Service", "Volume"]

_SERVICE_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"


class _Resource(ComposeModel):
    """A top-level resource; reads the legacy ``external: {name: x}`` form."""

    @model_validator(mode="before")
    @classmethod
    def _legacy_external(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("external"), Mapping):
            legacy = data["external"]
            data = {**data, "external": True}
            if "name" in legacy:
                data["name"] = legacy["name"]
        return data


class IpamPool(ComposeModel):
    """One address pool of a network."""

    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: StrMap = {}


class Ipam(ComposeModel):
    """IP address management of a network."""

    driver: str | None = None
    config: list[IpamPool] = []
    options: StrMap = {}


class Network(_Resource):
    """A network of the project (created by fleetdeck unless ``external``)."""

    name: str | None = None
    driver: str | None = None
    driver_opts: StrMap = {}
    attachable: bool | None = None
    enable_ipv6: bool | None = None
    internal: bool | None = None
    external: bool | None = None
    ipam: Ipam | None = None
    labels: StrMap = {}


class Volume(_Resource):
    """A named volume of the project (created by fleetdeck unless ``external``)."""

    name: str | None = None
    driver: str | None = None
    driver_opts: StrMap = {}
    external: bool | None = None
    labels: StrMap = {}


class Secret(_Resource):
    """A secret: read from a file or a variable, or ``external`` (already in the Swarm).

    Only where the value comes from is kept; the value itself never enters the model.
    """

    name: str | None = None
    file: str | None = None
    environment: str | None = None
    external: bool | None = None
    labels: StrMap = {}
    driver: str | None = None
    driver_opts: StrMap = {}
    template_driver: str | None = None

    @field_validator("file", mode="before")
    @classmethod
    def _file(cls, value: Any, info: ValidationInfo) -> Any:
        return resolve_path(value, base_dir(info)) if isinstance(value, str) else value


class Config(_Resource):
    """A config file: from a file, a variable, inline ``content``, or ``external``."""

    name: str | None = None
    file: str | None = None
    environment: str | None = None
    content: str | None = None
    external: bool | None = None
    labels: StrMap = {}
    template_driver: str | None = None

    @field_validator("file", mode="before")
    @classmethod
    def _file(cls, value: Any, info: ValidationInfo) -> Any:
        return resolve_path(value, base_dir(info)) if isinstance(value, str) else value


class Project(ComposeModel):
    """A whole Compose application."""

    name: str | None = None
    version: str | None = Field(default=None, exclude=True)
    services: Annotated[dict[str, Service], NullableEntries] = {}
    networks: Annotated[dict[str, Network], NullableEntries] = {}
    volumes: Annotated[dict[str, Volume], NullableEntries] = {}
    secrets: Annotated[dict[str, Secret], NullableEntries] = {}
    configs: Annotated[dict[str, Config], NullableEntries] = {}
    _warnings: list[str] = PrivateAttr(default_factory=list)

    @field_validator("services", mode="before")
    @classmethod
    def _service_names(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            for name in value:
                if not isinstance(name, str) or not re.match(_SERVICE_NAME, name):
                    raise ComposeValueError(
                        f"invalid service name {name!r}: use letters, digits, '.', '_' and '-'",
                        name,
                    )
        return value

    @property
    def warnings(self) -> list[str]:
        """Things worth telling the user that are not errors (e.g. unset variables)."""
        return self._warnings

    def to_data(self) -> dict[str, Any]:
        """The project as plain data (what ``stack config`` prints): unset fields left out."""
        data: dict[str, Any] = compact(self)
        return data
