"""Writing Compose files into a temporary directory and loading them."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from fleetdeck.compose import Project, load_project

if TYPE_CHECKING:
    from pathlib import Path


def write(directory: Path, name: str, text: str) -> Path:
    """Write ``text`` (dedented) to ``directory/name`` and return the path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(directory: Path, *names: str, **kwargs: Any) -> Project:
    """Load the named files of ``directory`` with an empty environment unless given one."""
    kwargs.setdefault("env", {})
    return load_project([directory / n for n in names], **kwargs)


def service_data(project: Project, name: str) -> dict[str, Any]:
    """One service of a loaded project as the plain data ``stack config`` prints."""
    data: dict[str, Any] = project.to_data()["services"][name]
    return data
