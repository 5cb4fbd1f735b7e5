"""A stack's files: checked names, sizes, and loading them as a Compose project.

The store keeps the files (``stack_blobs``); a request may bring others. Either way they are
loaded from memory as a :class:`~fleetdeck.compose.files.StackFileSet`: the server never
writes a stack to its disk nor opens a path a Compose file names. A file name is relative
and stays inside the stack: absolute names, ``..`` steps and odd characters are refused.

A file is bytes: build contexts hold archives, images and files in any encoding, and they
are stored, written and tarred exactly. Only the files fleetdeck itself reads as text
(Compose files, env files) must be UTF-8; on the wire a file is ``{name, content}`` when it
is UTF-8 text and ``{name, content_base64}`` otherwise (see :func:`to_wire`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from fleetdeck.compose import load_project, variables
from fleetdeck.compose.files import StackFileSet
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

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


def file_set(root: Path, files: list[StackFile], env_file: str | None) -> StackFileSet:
    """The stack's files as the loader sees them: under ``root`` by name, nothing else.

    ``root`` is only the name Compose's labels and resolved paths carry; nothing is written
    or read there. The stack's env file joins as ``.fleetdeck.env`` (a name no stack file
    can have: names start with a letter, digit or ``_``).
    """
    contents = {check_file_name(item.name): item.data for item in files}
    if env_file is not None:
        contents[ENV_FILE_NAME] = env_file.encode()
    return StackFileSet(str(root), contents)


def load(
    root: Path,
    stack: str,
    files: list[StackFile],
    env_file: str | None,
    variables: Mapping[str, str],
) -> tuple[Project, StackFileSet]:
    """Load a stack from its own files only; its variables win over its env file.

    No process environment, and no file of the server's: every path the Compose files name
    is looked up in the stack's file set (:class:`~fleetdeck.compose.files.StackFileSet`),
    build contexts, Dockerfiles and secret/config files included.
    """
    check_files(files)
    fileset = file_set(root, files, env_file)
    env_files = [root / ENV_FILE_NAME] if env_file is not None else []
    try:
        project = load_project(
            [root / name for name in compose_files(files)],
            project_name=stack,
            env=dict(variables),
            env_files=env_files,
            reader=fileset,
        )
        fileset.check_project(project)
    except InvalidInputError as exc:
        # Name files as the user knows them, not by the server's path.
        exc.message = exc.message.replace(f"{root}/", "")
        raise
    return project, fileset


def env_file_values(
    fileset: StackFileSet, root: Path, env_file: str | None, environ: Mapping[str, str]
) -> dict[str, str]:
    """What a stack's env file sets (its values may use ``environ``), read from its files."""
    if env_file is None:
        return {}
    return variables.env_file_values(environ, [root / ENV_FILE_NAME], fileset)
