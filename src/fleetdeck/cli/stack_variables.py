"""The variables ``stack deploy`` and ``stack diff`` send, by the rule ``stack config`` uses.

Compose reads ``${VAR}`` from the shell over ``--env-file`` (or the project directory's
``.env``); fleetdeck keeps that order and puts the stack's stored variables between the two
(see :mod:`fleetdeck.compose.variables`). The CLI sends the project's ``.env`` as the stack's
env file when no ``--env-file`` is given, and from its own environment only the variables
the Compose files use (found by the loader's own walk), never the rest of the shell.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetdeck.compose.loader import referenced_variables
from fleetdeck.compose.variables import DEFAULT, ENV_FILE, SHELL, STORED
from fleetdeck.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fleetdeck.client import FleetdeckClient


def project_env_file(files: list[Path] | None, env_file: Path | None) -> Path | None:
    """``--env-file``, else the ``.env`` next to the first Compose file (as Compose does)."""
    if env_file is not None or not files:
        return env_file
    default = files[0].absolute().parent / ".env"
    return default if default.is_file() else None


def _used(paths: list[Path]) -> set[str]:
    try:
        return set(referenced_variables(paths))
    except InvalidInputError:
        return set()  # the server names the problem with its file and line


def _stored_files(client: FleetdeckClient, name: str) -> list[dict[str, Any]]:
    try:
        files: list[dict[str, Any]] = client.get_stack(name).get("files") or []
    except NotFoundError:
        return []  # a new stack: the server says what is missing
    return files


def shell_values(
    client: FleetdeckClient, name: str, files: list[Path] | None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:  # fmt: skip
    """The shell's values of the variables the files (or, without ``-f``, the stored ones) use."""
    environ = os.environ if environ is None else environ
    if files:
        used = _used(list(files))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for item in _stored_files(client, name):
                if "/" in item["name"] or not item["name"].endswith((".yml", ".yaml")):
                    continue
                if item.get("content") is None:
                    continue
                path = Path(tmp) / item["name"]
                path.write_text(item["content"], encoding="utf-8")
                paths.append(path)
            used = _used(paths)
    return {key: environ[key] for key in sorted(used) if key in environ}


def source_label(source: str, env_file: Path | None) -> str:
    """A variable's source for people: ``shell``, ``stored``, the env file's path, ``default``."""
    if source == ENV_FILE:
        return f"env file {env_file}" if env_file is not None else "env file (stored)"
    labels = {SHELL: "shell", STORED: "stored (stack vars)", DEFAULT: "default (not set)"}
    return labels.get(source, source)
