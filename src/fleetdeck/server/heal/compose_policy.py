"""Heal policy layers from a stack's Compose files (``x-fleetdeck: {autoheal: …}``).

Compose reserves ``x-*`` keys for users and fleetdeck's Compose model ignores them, so the
policy is read from the files themselves, at the top level (the stack's layer) and in each
service (that service's layer)::

    x-fleetdeck:
      autoheal: {enabled: true, max_restarts: 3}
    services:
      db:
        x-fleetdeck:
          autoheal: false          # never restart the database on its health check alone

Several files merge as Compose merges them: a later file's fields win over an earlier one's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck import safeyaml
from fleetdeck.compose.extensions import EXTENSION, fleetdeck_extension
from fleetdeck.server.heal.policy import compose_layer

if TYPE_CHECKING:
    from collections.abc import Iterable

KEY = "autoheal"


def _autoheal(mapping: Any) -> Any:
    return fleetdeck_extension(mapping, KEY)


def compose_layers(stack: str, files: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """``{target: fields}`` of ``stack`` (``STACK``, ``STACK/SERVICE``) from ``(name, text)`` pairs.

    Raises:
        InvalidInputError: a file that is no YAML mapping or a bad ``autoheal`` value, naming
            the file and where in it.
    """
    layers: dict[str, dict[str, Any]] = {}
    for name, text in files:
        data = safeyaml.load(text, name=name)
        if not isinstance(data, dict):
            continue
        top = _autoheal(data)
        if top is not None:
            layers.setdefault(stack, {}).update(compose_layer(top, f"{name}: {EXTENSION}"))
        services = data.get("services")
        for service, spec in (services or {}).items() if isinstance(services, dict) else ():
            value = _autoheal(spec)
            if value is not None:
                where = f"{name}: services.{service}.{EXTENSION}"
                layers.setdefault(f"{stack}/{service}", {}).update(compose_layer(value, where))
    return layers
