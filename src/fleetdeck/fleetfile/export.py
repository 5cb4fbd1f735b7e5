"""``fleetdeck export``: the fleet as the server has it, written as fleet files (one per kind).

Secrets never leave the server: a registry's password and a channel's URL are written as
references to environment variables (``{env: FLEETDECK_CHANNEL_OPS_URL}``) for the operator
to fill. Stack files are written inline. Built-in rules, expired silences and windows, and
heal layers that come from Compose files are left out (they are not the fleet file's).
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import TYPE_CHECKING, Any

import yaml

from fleetdeck.client.stack_files import file_bytes
from fleetdeck.errors import InvalidInputError
from fleetdeck.fleetfile.model import KINDS

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.fleetfile.diff import Live


def _env_name(*parts: str) -> str:
    return "FLEETDECK_" + "_".join(re.sub(r"[^A-Za-z0-9]", "_", p).upper() for p in parts)


def _when(value: Any) -> str:
    return str(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))


def export_documents(live: Live) -> dict[str, dict[str, Any]]:
    """One document per non-empty kind: ``{kind: {kind: [objects]}}``."""
    obj = live.objects
    docs: dict[str, list[dict[str, Any]]] = {
        "environments": [_environment(n, e) for n, e in obj["environments"].items()],
        "registries": [_registry(n, r) for n, r in obj["registries"].items()],
        "users": [
            {"username": n, "role": u["role"], "disabled": u["disabled"]}
            for n, u in obj["users"].items()
        ],
        "channels": [
            {
                "name": n,
                "url": {"env": _env_name("CHANNEL", n, "URL")},
                "min_severity": c["min_severity"],
                "enabled": c["enabled"],
            }
            for n, c in obj["channels"].items()
        ],  # fmt: skip
        "rules": [
            {"name": n, **{k: v for k, v in r.items() if v is not None}}
            for n, r in obj["rules"].items()
            if ("rules", n) not in live.protected
        ],
        "stacks": [_stack(n, s) for n, s in obj["stacks"].items()],
        "silences": [
            {"matchers": k.split(","), "ends_at": _when(s["ends_at"]), "comment": s["comment"]}
            for k, s in obj["silences"].items()
        ],
        "maintenance": [
            {"environment": w["environment"], "reason": w["reason"], "ends_at": _when(w["ends_at"])}
            for w in obj["maintenance"].values()
        ],
        "heal": [{"target": t, **f} for t, f in obj["heal"].items()],
        "autoscale": [
            {"service": k, **{f: v for f, v in a.items() if v is not None}}
            for k, a in obj["autoscale"].items()
        ],
    }
    return {kind: {kind: docs[kind]} for kind in KINDS if docs[kind]}


def _environment(name: str, env: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "tags": env["tags"], "groups": env["groups"]}
    if env["kind"] != "agent":
        item |= {"kind": env["kind"], "docker_host": env["docker_host"]}
    return item


def _registry(name: str, reg: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "url": reg["url"]}
    if reg["username"]:
        password = {"env": _env_name("REGISTRY", name, "PASSWORD")}
        item |= {"username": reg["username"], "password": password}
    return item


def _stack(name: str, stack: dict[str, Any]) -> dict[str, Any]:
    files = {}
    for entry in stack.get("_content", []):
        try:
            files[entry["name"]] = file_bytes(entry).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError(
                f"stack {name!r}: file {entry['name']!r} is not text; export cannot inline it",
                hint="keep such files in the stack's Git source",
            ) from None
    item: dict[str, Any] = {"name": name, "environment": stack["environment"], "files": files}
    if stack.get("env_file"):
        item["env_file"] = stack["env_file"]
    return item


class _Literal(str):
    """A multi-line string written as a YAML block (``|``)."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def _blocks(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _blocks(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blocks(v) for v in value]
    if isinstance(value, str) and "\n" in value and not value.endswith((" ", "\t")):
        return _Literal(value)
    return value


def write_export(live: Live, directory: Path) -> list[Path]:
    """Write one ``KIND.yaml`` per non-empty kind into ``directory`` (made if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, doc in export_documents(live).items():
        path = directory / f"{kind}.yaml"
        text = yaml.dump(_blocks(doc), Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        path.write_text("# Written by `fleetdeck export`.\n" + text, encoding="utf-8")
        written.append(path)
    return written
