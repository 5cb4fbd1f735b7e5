"""Update policies: ``off``, ``notify`` or ``auto``, per stack or service, from the API or Compose.

A service's policy is the first one set of, in order: the API's ``STACK/SERVICE``, the
Compose file's ``services.SERVICE.x-fleetdeck.updates``, the API's ``STACK``, the Compose
file's top-level ``x-fleetdeck.updates``, the API's ``default``, and :data:`DEFAULT_POLICY`::

    x-fleetdeck:
      updates: auto            # every service of this stack follows its tags
    services:
      db:
        image: 10.0.0.1:5000/postgres:16
        x-fleetdeck:
          updates: notify      # but the database only says an update is there

Several files merge as Compose merges them: a later file's value wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck import safeyaml
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.heal.service import check_target

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: ``default``, ``STACK`` or ``STACK/SERVICE`` (the same targets as heal policies).
__all__ = ["check_policy", "check_target", "compose_policies", "effective"]

POLICIES = ("off", "notify", "auto")
DEFAULT = "default"
DEFAULT_POLICY = "notify"
EXTENSION = "x-fleetdeck"
KEY = "updates"


def check_policy(value: Any, where: str = "policy") -> str:
    """``off``, ``notify`` or ``auto`` (``false`` in YAML means off), else InvalidInputError."""
    if value is False:
        return "off"
    if isinstance(value, str) and value.strip().lower() in POLICIES:
        return value.strip().lower()
    raise InvalidInputError(
        f"{where}: update policy must be one of {', '.join(POLICIES)}, not {value!r}"
    )


def _value(mapping: Any, where: str) -> str | None:
    if not isinstance(mapping, dict):
        return None
    extension = mapping.get(EXTENSION)
    if extension is None:
        return None
    if not isinstance(extension, dict):
        raise InvalidInputError(f"{where}: {EXTENSION} must be a mapping")
    value = extension.get(KEY)
    return None if value is None else check_policy(value, f"{where}.{EXTENSION}.{KEY}")


def compose_policies(stack: str, files: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{STACK or STACK/SERVICE: policy}`` from a stack's Compose files ``(name, text)``.

    Raises:
        InvalidInputError: A bad ``updates`` value, naming the file and the key.
    """
    found: dict[str, str] = {}
    for name, text in files:
        data = safeyaml.load(text, name=name)
        if not isinstance(data, dict):
            continue
        top = _value(data, name)
        if top is not None:
            found[stack] = top
        services = data.get("services")
        for service, spec in (services or {}).items() if isinstance(services, dict) else ():
            value = _value(spec, f"{name}: services.{service}")
            if value is not None:
                found[f"{stack}/{service}"] = value
    return found


def effective(
    stack: str, service: str, api: Mapping[str, str], compose: Mapping[str, str]
) -> tuple[str, str]:
    """(policy, where it comes from) of one service (see the module's order)."""
    layers = (
        (api, f"{stack}/{service}", "api"),
        (compose, f"{stack}/{service}", "compose"),
        (api, stack, "api"),
        (compose, stack, "compose"),
        (api, DEFAULT, "default"),
    )
    for source, key, name in layers:
        if key in source:
            return source[key], f"{name}:{key}"
    return DEFAULT_POLICY, "built-in"
