"""Where the files a Compose project names are read from: one rule for every path.

A Compose file names other files: more Compose files, ``.env`` and ``env_file`` files,
secret and config ``file:`` sources, build contexts and Dockerfiles. The loader never opens
them itself; it asks a :class:`ProjectFiles`:

- :class:`LocalFiles` is the user's own disk (``fleetdeck stack config -f`` on their
  machine reads what they could read anyway);
- :class:`StackFileSet` is a stack's files exactly as the user sent them (the request's
  files or ``stack_blobs``) and nothing else. The server loads every stack through one, so it
  never opens a path on its own disk for a stack: a path that names the server's data dir,
  ``/proc/self/environ`` or ``../..`` is not among the stack's files, and is refused with the
  same answer as a file that is simply missing (no existence oracle, nothing echoed). There
  are no symlinks in it either: a file is a name and bytes.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from typing import TYPE_CHECKING, Protocol

from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path, PurePosixPath

    from fleetdeck.compose.model import Project
    from fleetdeck.compose.model_parts import Build

_HINT = (
    "name a file sent with the stack, relative to the Compose file; a path may not leave "
    "the stack's files (no absolute paths outside it, no '..' out of it)"
)


class ProjectFiles(Protocol):
    """The files a project's paths are read from."""

    def read(self, path: Path, what: str) -> bytes:
        """The bytes of the file at ``path`` (absolute); ``what`` names its role in errors.

        Raises:
            InvalidInputError: There is no such file to read here.
        """

    def has(self, path: Path) -> bool:
        """Whether ``path`` names a file here (for optional files such as ``.env``)."""


class LocalFiles:
    """The user's own disk: what the CLI reads for ``stack config``."""

    def read(self, path: Path, what: str) -> bytes:
        """The file's bytes, or InvalidInputError naming it."""
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InvalidInputError(
                f"cannot read {what} {path}: {exc.strerror or exc}",
                hint="check the path (relative paths are relative to the compose file)",
            ) from exc

    def has(self, path: Path) -> bool:
        """Whether a regular file is there."""
        return path.is_file()


class StackFileSet:
    """A stack's files as sent, addressed as if they lay under ``root``; nothing else exists.

    ``root`` is only a name (the stack's place in Compose's labels and in resolved paths); it
    is never opened. Args: ``root``: the absolute directory the names are relative to;
    ``files``: name (``a/b.txt``, as :func:`fleetdeck.server.stacks.files.check_file_name`
    allows) → bytes.
    """

    def __init__(self, root: str | PurePosixPath, files: Mapping[str, bytes]) -> None:
        self.root = posixpath.normpath(str(root))
        self.files = dict(files)

    # ------------------------------------------------------------------ the rule
    def relative(self, path: str | PurePosixPath) -> str | None:
        """``path`` as a name relative to the root ("" for the root), or None outside it.

        Purely lexical (``normpath``): nothing on disk is consulted, so a symlink or a
        directory of the server's can never take part.
        """
        normal = posixpath.normpath(posixpath.join(self.root, str(path)))
        if normal == self.root:
            return ""
        prefix = self.root.rstrip("/") + "/"
        return normal[len(prefix) :] if normal.startswith(prefix) else None

    def name_of(self, path: str | PurePosixPath, what: str) -> str:
        """The stack file ``path`` names; the one check every path of a stack goes through.

        Raises:
            InvalidInputError: ``path`` leaves the stack or names no file of it, with the same
                message either way (only the path as given is shown, never any content).
        """
        name = self.relative(path)
        if name and name in self.files:
            return name
        raise self._missing(path, what)

    def _missing(self, path: str | PurePosixPath, what: str) -> InvalidInputError:
        name = self.relative(path)
        shown = name if name else posixpath.normpath(str(path))
        return InvalidInputError(f"{what} {shown} is not one of the stack's files", hint=_HINT)

    def read(self, path: Path | str, what: str) -> bytes:
        """The bytes of the stack file ``path`` names (see :meth:`name_of`)."""
        return self.files[self.name_of(str(path), what)]

    def has(self, path: Path | str) -> bool:
        """Whether ``path`` names one of the stack's files."""
        name = self.relative(str(path))
        return bool(name) and name in self.files

    def directory(self, path: str, what: str) -> str:
        """The stack directory ``path`` names (``""``: the root), holding at least one file.

        Raises:
            InvalidInputError: ``path`` leaves the stack or no stack file lies under it.
        """
        name = self.relative(path)
        if name is not None and any(_under(f, name) for f in self.files):
            return name
        raise self._missing(path, what)

    # ------------------------------------------------------------------ builds
    def build_paths(self, build: Build, what: str) -> tuple[str, str | None]:
        """``(context directory, Dockerfile relative to it)`` of a build, both in the stack.

        The Dockerfile (``Dockerfile`` unless named; relative to the context, as Compose
        reads it) must be one of the context's files; None with ``dockerfile_inline``.

        Raises:
            InvalidInputError: The context or the Dockerfile is not among the stack's files.
        """
        if not build.context.startswith("/"):
            raise InvalidInputError(
                f"{what}: build context {build.context} is not one of the stack's directories",
                hint="a stack builds only from its own files: send the context with the stack",
            )
        context = self.directory(build.context, f"{what}: build context")
        if build.dockerfile_inline is not None:
            return context, None
        base = posixpath.join(self.root, context) if context else self.root
        wanted = posixpath.join(base, build.dockerfile or "Dockerfile")
        name = self.name_of(wanted, f"{what}: Dockerfile")
        if not _under(name, context):
            raise self._missing(wanted, f"{what}: Dockerfile (outside its build context)")
        return context, posixpath.relpath(name, context or ".")

    def context_tar(self, build: Build, what: str) -> tuple[bytes, str | None]:
        """The build context as a tar of the stack's own files under it, and its Dockerfile.

        The tar holds nothing but bytes the user sent (at most a stack's size), whatever the
        context names; ``dockerfile_inline`` is written into it as ``Dockerfile.fleetdeck``.
        """
        context, dockerfile = self.build_paths(build, what)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            members = {
                posixpath.relpath(n, context or "."): d
                for n, d in sorted(self.files.items())
                if _under(n, context)
            }
            if build.dockerfile_inline is not None:
                dockerfile = "Dockerfile.fleetdeck"
                members[dockerfile] = build.dockerfile_inline.encode()
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue(), dockerfile

    def check_project(self, project: Project) -> None:
        """Every file and directory the loaded project names is one of the stack's files.

        Env files were read through this set while loading; what is left are build contexts
        and Dockerfiles and the ``file:`` of secrets and configs.

        Raises:
            InvalidInputError: The first path that is not, named by service or resource.
        """
        for name, service in sorted(project.services.items()):
            if service.build is not None:
                self.build_paths(service.build, f"service {name!r}")
        sources = [("secret", k, s.file) for k, s in sorted(project.secrets.items())]
        sources += [("config", k, c.file) for k, c in sorted(project.configs.items())]
        for kind, key, file in sources:
            if file:
                self.name_of(file, f"{kind} {key!r}: file")


def _under(name: str, directory: str) -> bool:
    return not directory or name.startswith(directory.rstrip("/") + "/")
