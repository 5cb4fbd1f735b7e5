"""fleetdeck's own keys in a Compose file: ``x-fleetdeck: {KEY: …}``.

Compose reserves ``x-*`` keys for users and fleetdeck's Compose model ignores them, so the
parts that take a policy from a stack's files (auto-heal's ``autoheal``, volume backups'
``backup``) read them from the parsed YAML, at the top level or in a service, with this.
"""

from __future__ import annotations

from typing import Any

from fleetdeck.errors import InvalidInputError

EXTENSION = "x-fleetdeck"


def fleetdeck_extension(mapping: Any, key: str, where: str = "") -> Any:
    """``mapping["x-fleetdeck"][key]`` (None when either is absent or ``mapping`` is no dict).

    Raises:
        InvalidInputError: ``x-fleetdeck`` is there but no mapping.
    """
    if not isinstance(mapping, dict):
        return None
    extension = mapping.get(EXTENSION)
    if extension is None:
        return None
    if not isinstance(extension, dict):
        raise InvalidInputError(f"{where + ': ' if where else ''}{EXTENSION} must be a mapping")
    return extension.get(key)
