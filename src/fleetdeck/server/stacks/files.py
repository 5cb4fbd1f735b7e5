"""A stack's files on the server's disk: checked names, materialised copies, loading.

The store keeps the files; to load them with the Compose loader (which resolves relative
paths, env files and build contexts from disk) they are written under
``data_dir/stacks/NAME/``. A file name must stay inside that directory: absolute names,
``..`` steps and odd characters are refused before anything is written.

A file is bytes: build contexts hold archives, images and files in any encoding, and they
are stored, written and tarred exactly. Only the files fleetdeck itself reads as text
(Compose files, env files) must be UTF-8; on the wire a file is ``{name, content}`` when it
is UTF-8 text and ``{name, content_base64}`` otherwise (see :func:`to_wire`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from fleetdeck.compose import load_project, variables
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from fleetdeck.compose import Project

STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_FILE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
ENV_FILE_NAME = ".fleetdeck.env"
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_STACK_BYTES = 64 * 1024 * 1024
MAX_FILES = 200


@dataclass(frozen=True)
class StackFile:
    """One file of a stack: its relative name and exact bytes."""

    name: str
    data: bytes

    @classmethod
    def of_text(cls, name: str, content: str) -> StackFile:
        """A text file (stored as UTF-8)."""
        return cls(name, content.encode())

    @cached_property
    def text(self) -> str | None:
        """The content when it is UTF-8 text, else None (a binary file)."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @cached_property
    def sha256(self) -> str:
        """The content's SHA-256 (hex): how the store finds its bytes."""
        return hashlib.sha256(self.data).hexdigest()

    def require_text(self, what: str) -> str:
        """The content as text, or InvalidInputError naming the file (``what``: its role)."""
        if self.text is None:
            raise InvalidInputError(
                f"{what} {self.name!r} is not UTF-8 text",
                hint="save it as UTF-8 (only build-context and other files may be binary)",
            )
        return self.text


def to_wire(item: StackFile) -> dict[str, str | int]:
    """A file as the API serves it: ``content`` for UTF-8 text, else ``content_base64``.

    ``size`` (bytes) and ``sha256`` come along so that a client can show a binary file
    without decoding it.
    """
    body: dict[str, str | int] = {"name": item.name}
    if item.text is not None:
        body["content"] = item.text
    else:
        body["content_base64"] = base64.b64encode(item.data).decode()
    return body | {"size": len(item.data), "sha256": item.sha256}


def from_wire(name: str, content: str | None, content_base64: str | None) -> StackFile:
    """A file as a request gives it: exactly one of ``content`` or ``content_base64``."""
    if (content is None) == (content_base64 is None):
        raise InvalidInputError(
            f"file {name!r}: give exactly one of 'content' (UTF-8 text) or 'content_base64'"
        )
    if content is not None:
        return StackFile.of_text(name, content)
    try:
        return StackFile(name, base64.b64decode(content_base64 or "", validate=True))
    except ValueError:
        raise InvalidInputError(f"file {name!r}: 'content_base64' is not valid base64") from None


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
    total = 0
    for item in files:
        name = check_file_name(item.name)
        if name in seen:
            raise InvalidInputError(f"file {name!r} is given twice")
        if len(item.data) > MAX_FILE_BYTES:
            raise InvalidInputError(
                f"file {name!r} is {len(item.data)} bytes, over the {MAX_FILE_BYTES} bytes "
                "a stack file may have"
            )
        total += len(item.data)
        seen.add(name)
    if total > MAX_STACK_BYTES:
        raise InvalidInputError(
            f"the stack's files total {total} bytes, over the {MAX_STACK_BYTES} bytes a stack "
            "may have",
            hint="keep large artefacts in an image or a registry, not in the stack",
        )
    return files


_SERVICES_KEY = re.compile(r"^services\s*:", re.MULTILINE)
_COMPOSE_NAME = re.compile(r"^(?:docker-)?compose[\w.-]*\.ya?ml$")


def compose_files(files: list[StackFile]) -> list[str]:
    """The Compose files among a stack's files, in their order.

    Top-level ``*.yml``/``*.yaml`` files named ``compose…``/``docker-compose…`` or with a
    top-level ``services:`` key; other files (configs, env files, build contexts) go along.
    A file named as a Compose file must be UTF-8 text (InvalidInputError naming it).
    """
    names = []
    for f in files:
        if "/" in f.name or not f.name.endswith((".yml", ".yaml")):
            continue
        if _COMPOSE_NAME.match(f.name):
            f.require_text("Compose file")
            names.append(f.name)
        elif f.text is not None and _SERVICES_KEY.search(f.text):
            names.append(f.name)
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
        path.write_bytes(item.data)
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


def env_file_values(
    directory: Path, env_file: str | None, environ: Mapping[str, str]
) -> dict[str, str]:
    """What a materialised stack's env file sets (its values may use ``environ``)."""
    if env_file is None:
        return {}
    return variables.env_file_values(environ, [directory / ENV_FILE_NAME])


@contextmanager
def scratch_dir(data_dir: Path, stack: str) -> Iterator[Path]:
    """A throw-away stack directory for proposed files (validate, diff), removed after."""
    scratch_root = data_dir / "stacks" / ".scratch"
    scratch_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=scratch_root) as tmp:
        yield Path(tmp) / stack
