"""A stack's files on the server's disk: checked names, materialised copies, loading.

The store keeps the files; to load them with the Compose loader (which resolves relative
paths, env files and build contexts from disk) they are written under
``data_dir/stacks/NAME/``. A file name must stay inside that directory: absolute names,
``..`` steps and odd characters are refused before anything is written.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from fleetdeck.compose import load_project
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from fleetdeck.compose import Project

STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_FILE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
ENV_FILE_NAME = ".fleetdeck.env"
MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 200


@dataclass(frozen=True)
class StackFile:
    """One file of a stack: its relative name and text."""

    name: str
    content: str


def check_stack_name(name: str) -> str:
    """A stack (= Compose project) name, or InvalidInputError."""
    if not STACK_NAME.match(name):
        raise InvalidInputError(
            f"invalid stack name {name!r}",
            hint="use 1-63 lower-case letters, digits, '-' and '_' (a letter or digit first)",
        )
    return name


def check_file_name(name: str) -> str:
    """A file name relative to the stack directory that cannot escape it."""
    path = PurePosixPath(name)
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or any(not _FILE_PART.match(part) or part in (".", "..") for part in path.parts)
    ):
        raise InvalidInputError(
            f"file name {name!r} escapes the stack directory or has odd characters",
            hint="use relative names like compose.yaml or config/app.conf (no '..', no '/' first)",
        )
    return str(path)


def check_files(files: list[StackFile]) -> list[StackFile]:
    """Validate the names (unique, safe), sizes and count of a stack's files."""
    if not files:
        raise InvalidInputError("a stack needs at least one Compose file")
    if len(files) > MAX_FILES:
        raise InvalidInputError(f"a stack has at most {MAX_FILES} files")
    seen: set[str] = set()
    for item in files:
        name = check_file_name(item.name)
        if name in seen:
            raise InvalidInputError(f"file {name!r} is given twice")
        if len(item.content.encode()) > MAX_FILE_BYTES:
            raise InvalidInputError(f"file {name!r} is larger than {MAX_FILE_BYTES} bytes")
        seen.add(name)
    return files


_SERVICES_KEY = re.compile(r"^services\s*:", re.MULTILINE)
_COMPOSE_NAME = re.compile(r"^(?:docker-)?compose[\w.-]*\.ya?ml$")


def compose_files(files: list[StackFile]) -> list[str]:
    """The Compose files among a stack's files, in their order.

    Top-level ``*.yml``/``*.yaml`` files named ``compose…``/``docker-compose…`` or with a
    top-level ``services:`` key; other files (configs, env files, build contexts) go along.
    """
    names = [
        f.name
        for f in files
        if "/" not in f.name
        and f.name.endswith((".yml", ".yaml"))
        and (_COMPOSE_NAME.match(f.name) or _SERVICES_KEY.search(f.content))
    ]
    if not names:
        raise InvalidInputError(
            "no Compose file among the stack's files", hint="name it compose.yaml"
        )
    return names


def materialise(directory: Path, files: list[StackFile], env_file: str | None) -> None:
    """Write the files under ``directory`` (emptied first: no stale file is ever loaded)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, mode=0o700)
    root = directory.resolve()
    for item in files:
        path = (root / check_file_name(item.name)).resolve()
        if not path.is_relative_to(root):
            raise InvalidInputError(f"file name {item.name!r} escapes the stack directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(item.content)
    if env_file is not None:
        (root / ENV_FILE_NAME).write_text(env_file)


def load(
    directory: Path,
    stack: str,
    files: list[StackFile],
    env_file: str | None,
    variables: Mapping[str, str],
) -> Project:
    """Materialise and load a stack: its variables win over its env file; no process env."""
    check_files(files)
    materialise(directory, files, env_file)
    env_files = [directory / ENV_FILE_NAME] if env_file is not None else []
    try:
        return load_project(
            [directory / name for name in compose_files(files)],
            project_name=stack,
            env=dict(variables),
            env_files=env_files,
        )
    except InvalidInputError as exc:
        # Name files as the user knows them, not by the server's path.
        exc.message = exc.message.replace(f"{directory}/", "")
        raise


@contextmanager
def scratch_dir(data_dir: Path, stack: str) -> Iterator[Path]:
    """A throw-away stack directory for proposed files (validate, diff), removed after."""
    scratch_root = data_dir / "stacks" / ".scratch"
    scratch_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=scratch_root) as tmp:
        yield Path(tmp) / stack
