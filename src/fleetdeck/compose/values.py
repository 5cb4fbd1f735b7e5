"""Parsers that turn Compose's many spellings of a value into one canonical form.

Each parser takes what YAML produced and returns the canonical value, or raises
:class:`ComposeValueError` saying what is wrong. The models use them as "before" validators,
so a value of the wrong kind is reported at its key with its line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$", re.I)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


class ComposeValueError(ValueError):
    """A value cannot be understood; ``subpath`` locates the bad item inside the value."""

    def __init__(self, message: str, *subpath: str | int) -> None:
        super().__init__(message)
        self.subpath = subpath


def scalar_text(value: Any, what: str) -> str:
    """A YAML scalar as Compose reads it into a string (``true`` → ``"true"``, 1 → ``"1"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ComposeValueError(f"{what} must be a string or number, not {_kind(value)}")


def parse_duration(value: Any) -> float:
    """A Go-style duration (``1m30s``, ``500ms``) or a number of seconds, as seconds."""
    if isinstance(value, bool):
        raise ComposeValueError(f"invalid duration {value!r}: expected e.g. 30s, 1m30s, 500ms")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ComposeValueError(f"invalid duration: expected a string like 30s, not {_kind(value)}")
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ComposeValueError(
            f"invalid duration {value!r}: expected e.g. 30s, 1m30s, 500ms (units ns us ms s m h)"
        )
    return total


def parse_size(value: Any) -> int:
    """A byte size (``512m``, ``1gb``, ``2GiB``, ``1024``), in bytes (binary units)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    raise ComposeValueError(f"invalid size {value!r}: expected e.g. 512m, 1g or a byte count")


def parse_cpus(value: Any) -> float:
    """A CPU count (``0.5``, ``"2"``)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        cpus = float(value)
    except (TypeError, ValueError):
        raise ComposeValueError(f"invalid cpus {value!r}: expected a number like 0.5") from None
    if cpus < 0:
        raise ComposeValueError(f"invalid cpus {value!r}: must not be negative")
    return cpus


def string_list(value: Any, what: str = "value") -> list[str]:
    """A string or a list of strings/numbers, as a list of strings."""
    if value is None:
        return []
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [scalar_text(item, f"{what} item") for item in value]
    raise ComposeValueError(f"{what} must be a string or a list, not {_kind(value)}")


def command_list(value: Any) -> list[str] | None:
    """A command as a list of arguments (a string is split the way a shell would)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ComposeValueError(f"cannot split command {value!r}: {exc}") from None
    return string_list(value, "command")


def env_map(value: Any, what: str = "environment") -> dict[str, str | None]:
    """``KEY=VALUE`` items or a mapping, as ``{KEY: VALUE}``; a bare ``KEY`` maps to None."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {
            str(k): None if v is None else scalar_text(v, f"{what}.{k}") for k, v in value.items()
        }
    if isinstance(value, list):
        result: dict[str, str | None] = {}
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ComposeValueError(f"{what} items must be KEY=VALUE strings", index)
            key, sep, val = item.partition("=")
            if not key:
                raise ComposeValueError(f"invalid {what} item {item!r}: empty name", index)
            result[key] = val if sep else None
        return result
    raise ComposeValueError(f"{what} must be a list of KEY=VALUE or a mapping, not {_kind(value)}")


def str_map(value: Any, what: str = "labels") -> dict[str, str]:
    """Like :func:`env_map`, but a bare ``KEY`` (or a null value) is the empty string."""
    return {k: "" if v is None else v for k, v in env_map(value, what).items()}


def host_map(value: Any) -> dict[str, list[str]]:
    """``extra_hosts`` (``host:ip``/``host=ip`` items or a mapping) as ``{host: [ip, …]}``."""
    result: dict[str, list[str]] = {}
    if value is None:
        return result
    if isinstance(value, Mapping):
        for host, ips in value.items():
            result[str(host)] = string_list(ips, f"extra_hosts.{host}")
        return result
    if not isinstance(value, list):
        raise ComposeValueError(f"extra_hosts must be a list or a mapping, not {_kind(value)}")
    for index, item in enumerate(value):
        text = scalar_text(item, "extra_hosts item")
        sep = "=" if "=" in text else ":"
        host, found, ip = text.partition(sep)
        if not found or not host or not ip:
            raise ComposeValueError(f"invalid extra_hosts item {text!r}: expected HOST:IP", index)
        result.setdefault(host, []).append(ip.strip("[]"))
    return result


def mapping_of(value: Any, what: str) -> Mapping[Any, Any]:
    """``value`` if it is a mapping (None counts as empty), else a clear error."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ComposeValueError(f"{what} must be a mapping, not {_kind(value)}")
    return value


def names_to_map(value: Any, what: str) -> Mapping[Any, Any]:
    """A list of names (``[a, b]``) as ``{a: None, b: None}``; a mapping as is."""
    if isinstance(value, list):
        result: dict[str, Any] = {}
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ComposeValueError(f"{what} items must be names, not {_kind(item)}", index)
            result[item] = None
        return result
    return mapping_of(value, what)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else type(value).__name__
