"""Volume backup policies declared where the service is: its Compose file or its labels.

In a stack's Compose file (fleetdeck's Compose model ignores ``x-*`` keys, so they are read
from the files, as auto-heal's are), at the top level (every volume of the stack) or in a
service (the volumes that service mounts)::

    x-fleetdeck:
      backup: {target: nas, schedule: 1d, keep: 14}          # every volume of this stack
    services:
      db:
        x-fleetdeck:
          backup:
            target: nas
            schedule: 6h
            consistency: hook                               # no stop: a dump inside
            pre: pg_dump -U app app > /var/lib/postgresql/data/dump.sql
            volumes: [dbdata]

On a container of a stack, the same fields as labels (``fleetdeck.backup.target=nas``,
``fleetdeck.backup.schedule=6h``, ``fleetdeck.backup.consistency=stop``…): the policy of that
container's stack and service (a container in no stack is not looked at).

A Compose policy is named ``STACK`` or ``STACK/SERVICE``; a label policy
``label:STACK/SERVICE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck import safeyaml
from fleetdeck.compose.extensions import EXTENSION, fleetdeck_extension
from fleetdeck.durations import parse_duration
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

KEY = "backup"
#: The label prefix of a label policy.
LABEL_PREFIX = "fleetdeck.backup."
CONSISTENCIES = ("none", "stop", "pause", "hook")
FIELDS = ("target", "schedule", "keep", "consistency", "pre", "post", "volumes", "enabled")
#: Longest schedule a policy may have, shortest.
MAX_INTERVAL_S, MIN_INTERVAL_S = 366 * 86400.0, 60.0
MAX_HOOK_CHARS = 4096


@dataclass
class DeclaredPolicy:
    """A policy as a Compose file or labels declare it (checked)."""

    name: str
    stack: str | None
    service: str | None
    target: str
    interval_s: float | None
    keep_last: int = 7
    consistency: str = "none"
    pre_hook: str | None = None
    post_hook: str | None = None
    volumes: list[str] = field(default_factory=list)
    enabled: bool = True


def _text(value: Any, where: str, key: str, limit: int = 256) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value):
        raise InvalidInputError(f"{where}: {key} must be a non-empty text")
    text = str(value)
    if len(text) > limit:
        raise InvalidInputError(f"{where}: {key} is longer than {limit} characters")
    return text


def _interval(value: Any, where: str) -> float | None:
    if value in (None, "", "manual"):
        return None
    try:
        interval = parse_duration(_text(value, where, "schedule")).total_seconds()
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}: {exc.message}", hint=exc.hint) from None
    if not MIN_INTERVAL_S <= interval <= MAX_INTERVAL_S:
        raise InvalidInputError(f"{where}: schedule must be between 1m and 366d")
    return interval


def _keep(value: Any, where: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000:
        raise InvalidInputError(f"{where}: keep must be a whole number from 1 to 10000")
    return value


def _volumes(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [] if value == "all" else [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or len(value) > 64:
        raise InvalidInputError(f"{where}: volumes must be 'all' or a list of volume names")
    return [_text(v, where, "volumes") for v in value]


def declared(
    raw: Any, where: str, name: str, stack: str | None, service: str | None
) -> DeclaredPolicy | None:
    """A checked policy from a mapping of :data:`FIELDS` (None: ``false``, no policy).

    Raises:
        InvalidInputError: naming ``where`` and the field.
    """
    if raw is False:
        return None
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}: {KEY} must be a mapping (or false)")
    unknown = sorted(set(map(str, raw)) - set(FIELDS))
    if unknown:
        raise InvalidInputError(
            f"{where}: unknown {KEY} field(s) {', '.join(unknown)}", hint=f"one of {FIELDS}"
        )
    if "target" not in raw:
        raise InvalidInputError(f"{where}: a {KEY} policy needs a target")
    interval = _interval(raw.get("schedule"), where)
    keep = _keep(raw.get("keep", 7), where)
    consistency = str(raw.get("consistency", "none"))
    if consistency not in CONSISTENCIES:
        raise InvalidInputError(f"{where}: consistency must be one of {', '.join(CONSISTENCIES)}")
    pre = _text(raw["pre"], where, "pre", MAX_HOOK_CHARS) if raw.get("pre") else None
    post = _text(raw["post"], where, "post", MAX_HOOK_CHARS) if raw.get("post") else None
    if consistency == "hook" and pre is None and post is None:
        raise InvalidInputError(f"{where}: consistency hook needs a pre or post command")
    volumes = _volumes(raw.get("volumes", "all"), where)
    enabled = raw.get("enabled", True)
    if isinstance(enabled, str):
        enabled = enabled.lower() in ("1", "true", "yes", "on")
    return DeclaredPolicy(
        name=name, stack=stack, service=service, target=_text(raw["target"], where, "target", 64),
        interval_s=interval, keep_last=keep, consistency=consistency, pre_hook=pre,
        post_hook=post, volumes=volumes,
        enabled=bool(enabled),
    )  # fmt: skip


def compose_policies(stack: str, files: Iterable[tuple[str, str]]) -> list[DeclaredPolicy]:
    """The policies a stack's Compose files declare, from ``(name, text)`` pairs.

    Several files merge as Compose merges them: a later file's fields win.

    Raises:
        InvalidInputError: a bad ``backup`` value, naming the file and where in it.
    """
    merged: dict[tuple[str | None, str], dict[str, Any]] = {}
    wheres: dict[tuple[str | None, str], str] = {}
    for name, text in files:
        data = safeyaml.load(text, name=name)
        if not isinstance(data, dict):
            continue
        top = fleetdeck_extension(data, KEY, name)
        if top is not None:
            key: tuple[str | None, str] = (None, stack)
            merged[key] = {**merged.get(key, {}), **top} if isinstance(top, dict) else top
            wheres[key] = f"{name}: {EXTENSION}.{KEY}"
        services = data.get("services")
        for service, spec in (services or {}).items() if isinstance(services, dict) else ():
            where = f"{name}: services.{service}.{EXTENSION}"
            value = fleetdeck_extension(spec, KEY, where)
            if value is not None:
                key = (str(service), f"{stack}/{service}")
                old = merged.get(key, {})
                merged[key] = {**old, **value} if isinstance(value, dict) else value
                wheres[key] = f"{where}.{KEY}"
    found = []
    for (service, policy_name), raw in merged.items():
        policy = declared(raw, wheres[(service, policy_name)], policy_name, stack, service)
        if policy is not None:
            found.append(policy)
    return found


def label_policy(
    labels: Mapping[str, str], stack: str | None, service: str | None, container: str
) -> DeclaredPolicy | None:
    """The policy a stack container's ``fleetdeck.backup.*`` labels declare (None: none).

    Raises:
        InvalidInputError: a bad label value.
    """
    raw = {k[len(LABEL_PREFIX) :]: v for k, v in labels.items() if k.startswith(LABEL_PREFIX)}
    if not raw or not stack:
        return None
    name = f"label:{stack}/{service}" if service else f"label:{stack}"
    return declared(raw, f"labels of {container}", name, stack, service)
