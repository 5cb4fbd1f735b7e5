"""Compose's short syntaxes (``"8080:80/udp"``, ``"./data:/data:ro"``…) as long-syntax dicts.

The models accept both forms; these functions turn a short form into the long one so that
the rest of fleetdeck sees a single shape.
"""

from __future__ import annotations

import os.path
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetdeck.compose.values import ComposeValueError, scalar_text

_PORT_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
_VOLUME_MODES = {"ro", "rw", "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave"}
_VOLUME_MODES |= {"private", "rprivate", "cached", "delegated", "consistent"}
_PROPAGATION = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}


def parse_ports(value: Any) -> list[Any]:
    """``ports`` as a list of long-syntax items (a short port range becomes several items)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ComposeValueError("ports must be a list")
    result: list[Any] = []
    for index, item in enumerate(value):
        if isinstance(item, Mapping):
            result.append(item)
            continue
        try:
            result.extend(parse_port(scalar_text(item, "a port")))
        except ComposeValueError as exc:
            raise ComposeValueError(str(exc), index) from None
    return result


def parse_port(text: str) -> list[dict[str, Any]]:
    """``[IP:][HOST[-END]:]CONTAINER[-END][/PROTO]`` as long-syntax port dicts."""
    spec, _, protocol = text.partition("/")
    host_ip, host, container = _split_port(spec, text)
    c_first, c_last = _port_range(container, text)
    if not host:
        h_first = h_last = None
    else:
        h_first, h_last = _port_range(host, text)
    base = {"protocol": protocol or "tcp", "host_ip": host_ip}
    if h_first is None or h_last is None:
        return [{**base, "target": port} for port in range(c_first, c_last + 1)]
    if c_first == c_last:
        published = str(h_first) if h_first == h_last else f"{h_first}-{h_last}"
        return [{**base, "target": c_first, "published": published}]
    if h_last - h_first != c_last - c_first:
        raise ComposeValueError(
            f"invalid port {text!r}: the host and container ranges differ in length"
        )
    return [
        {**base, "target": c_first + i, "published": str(h_first + i)}
        for i in range(c_last - c_first + 1)
    ]


def _split_port(spec: str, text: str) -> tuple[str | None, str, str]:
    if spec.startswith("["):  # [IPv6]:HOST:CONTAINER
        ip, sep, rest = spec[1:].partition("]:")
        host, sep2, container = rest.partition(":")
        if not sep or not sep2:
            raise ComposeValueError(f"invalid port {text!r}: expected [IPv6]:HOST:CONTAINER")
        return ip, host, container
    parts = spec.split(":")
    if len(parts) == 1:
        return None, "", parts[0]
    if len(parts) == 2:
        return None, parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _port_range(text: str, whole: str) -> tuple[int, int]:
    match = _PORT_RANGE.match(text)
    if not match:
        raise ComposeValueError(
            f"invalid port {whole!r}: {text!r} is not a port number or range",
        )
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if not 0 < first <= last <= 65535:
        raise ComposeValueError(f"invalid port {whole!r}: ports are 1-65535, ranges ascending")
    return first, last


def parse_volumes(value: Any, base_dir: Path | None) -> list[Any]:
    """A service's ``volumes`` as long-syntax dicts, bind sources made absolute."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ComposeValueError("volumes must be a list")
    result: list[Any] = []
    for index, item in enumerate(value):
        try:
            if isinstance(item, Mapping):
                result.append(_long_volume(item, base_dir))
            elif isinstance(item, str):
                result.append(parse_volume(item, base_dir))
            else:
                raise ComposeValueError("a volume must be a string or a mapping")
        except ComposeValueError as exc:
            raise ComposeValueError(str(exc), index, *exc.subpath) from None
    return result


def parse_volume(text: str, base_dir: Path | None) -> dict[str, Any]:
    """``[SOURCE:]TARGET[:MODES]`` as a long-syntax volume dict."""
    parts = text.split(":")
    modes: list[str] = []
    if len(parts) > 1 and set(parts[-1].split(",")) <= _VOLUME_MODES:
        modes = parts.pop().split(",")
    if len(parts) == 1:
        source, target = None, parts[0]
    elif len(parts) == 2:
        source, target = parts
    else:
        raise ComposeValueError(f"invalid volume {text!r}: expected [SOURCE:]TARGET[:MODE]")
    if not target.startswith("/"):
        raise ComposeValueError(f"invalid volume {text!r}: the target must be an absolute path")
    if not source:
        return {"type": "volume", "target": target, "read_only": "ro" in modes}
    is_path = source.startswith(("/", ".", "~"))
    result: dict[str, Any] = {
        "type": "bind" if is_path else "volume",
        "source": resolve_path(source, base_dir) if is_path else source,
        "target": target,
        "read_only": "ro" in modes,
    }
    if is_path:
        bind: dict[str, Any] = {"create_host_path": True}
        propagation = [m for m in modes if m in _PROPAGATION]
        if propagation:
            bind["propagation"] = propagation[0]
        selinux = [m for m in modes if m in ("z", "Z")]
        if selinux:
            bind["selinux"] = selinux[0]
        result["bind"] = bind
    elif "nocopy" in modes:
        result["volume"] = {"nocopy": True}
    return result


def _long_volume(item: Mapping[Any, Any], base_dir: Path | None) -> Mapping[Any, Any]:
    source = item.get("source")
    if item.get("type") == "bind" and isinstance(source, str):
        return {**item, "source": resolve_path(source, base_dir)}
    return item


def resolve_path(path: str, base_dir: Path | None) -> str:
    """``path`` made absolute against ``base_dir`` (``~`` is the user's home)."""
    expanded = Path(path).expanduser()
    if base_dir is None or expanded.is_absolute():
        return str(expanded)
    # normpath, not resolve(): a symlink in the stack dir must stay what the user wrote.
    return os.path.normpath(base_dir / expanded)


def parse_devices(value: Any) -> list[Any]:
    """``devices`` (``HOST[:CONTAINER[:PERMS]]`` or long form) as long-syntax dicts."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ComposeValueError("devices must be a list")
    result: list[Any] = []
    for index, item in enumerate(value):
        if isinstance(item, Mapping):
            result.append(item)
            continue
        if not isinstance(item, str) or not item:
            raise ComposeValueError("a device must be HOST[:CONTAINER[:PERMISSIONS]]", index)
        parts = item.split(":")
        if len(parts) > 3:
            raise ComposeValueError(f"invalid device {item!r}", index)
        source = parts[0]
        target = parts[1] if len(parts) > 1 else source
        permissions = parts[2] if len(parts) > 2 else "rwm"
        result.append({"source": source, "target": target, "permissions": permissions})
    return result


def parse_file_refs(value: Any, what: str) -> list[Any]:
    """A service's ``secrets``/``configs`` (names or long form) as long-syntax dicts."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ComposeValueError(f"{what} must be a list")
    result: list[Any] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            result.append({"source": item})
        elif isinstance(item, Mapping):
            result.append(item)
        else:
            raise ComposeValueError(f"{what} items must be names or mappings", index)
    return result
