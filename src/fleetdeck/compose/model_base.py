"""The base of every Compose model and the annotated types that normalise polymorphic values.

Every model forbids unknown keys (a typo must never be silently dropped) and ignores ``x-*``
extension keys, which Compose reserves for users. Fields whose value Compose lets users spell
several ways are typed with one of the annotated types below, whose "before" validator turns
every spelling into the one canonical form.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, model_validator

from fleetdeck.compose.values import (
    command_list,
    env_map,
    host_map,
    parse_cpus,
    parse_duration,
    parse_size,
    str_map,
    string_list,
)


class ComposeModel(BaseModel):
    """A Compose mapping: unknown keys are errors, ``x-*`` keys are ignored."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {
                k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))
            }
        return data


def base_dir(info: ValidationInfo) -> Path | None:
    """The directory of the file being validated (relative paths are relative to it)."""
    context = info.context
    if isinstance(context, Mapping):
        value = context.get("base_dir")
        return value if isinstance(value, Path) else None
    return None


def _none_as_empty_mapping(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {k: {} if v is None else v for k, v in value.items()}
    return value


#: Seconds; written as a Go duration (``1m30s``) or a number of seconds.
Duration = Annotated[float, BeforeValidator(parse_duration)]
#: Bytes; written as ``512m``, ``1g``… or a byte count.
Size = Annotated[int, BeforeValidator(parse_size)]
#: A (fractional) number of CPUs, written as a number or a string.
Cpus = Annotated[float, BeforeValidator(parse_cpus)]
#: ``KEY=VALUE`` items or a mapping; a bare ``KEY`` is None (taken from the environment).
EnvMap = Annotated[dict[str, str | None], BeforeValidator(env_map)]
#: ``KEY=VALUE`` items or a mapping of strings (labels, sysctls, options…).
StrMap = Annotated[dict[str, str], BeforeValidator(str_map)]
#: A string or a list of strings.
StrList = Annotated[list[str], BeforeValidator(string_list)]
#: A command: a list of arguments, or a string split as a shell would.
Command = Annotated[list[str] | None, BeforeValidator(command_list)]
#: ``extra_hosts``: ``HOST:IP`` items or a mapping, as ``{host: [ip, …]}``.
HostMap = Annotated[dict[str, list[str]], BeforeValidator(host_map)]
#: A mapping whose null values mean "all defaults" (top-level networks, volumes…).
NullableEntries = BeforeValidator(_none_as_empty_mapping)


def compact(value: Any) -> Any:
    """A model as plain data, leaving out unset (None) fields and empty collections.

    Dict values stay even when None: ``environment: {FOO: null}`` means something.
    """
    if isinstance(value, BaseModel):
        result: dict[str, Any] = {}
        for name, info in type(value).model_fields.items():
            if info.exclude:
                continue
            item = getattr(value, name)
            if item is None or (isinstance(item, list | dict) and not item):
                continue
            result[name] = compact(item)
        return result
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value
