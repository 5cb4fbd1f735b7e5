"""A repository's cache working copy, reconciled from state, and a stack's files read from it.

Each repository has one working copy under ``DATA_DIR/git/repos/ID``. It is never cloned:
:meth:`RepoCache.ensure` makes it with ``git init`` and points ``origin`` at the stored URL,
so a half-made or damaged copy (no ``.git``, a failing ``rev-parse``, a wrong origin) is
removed and made again instead of colliding ("repository already exists"). A sync fetches
the refs it needs (``--depth 1``), then checks out the exact commit (``--force --detach`` and
``clean -ffdx``), so what is on disk is always one known commit.

Reading a stack's files (:func:`read_stack`) resolves every path against the checkout: the
stack's ``path``, its Compose files and its env file must stay inside it (no ``..``, no
symlink out); a symlinked file inside the checkout is read as its target, one pointing out
is refused, symlinked directories are not followed. Counts and sizes are bounded as for a
stack sent by the CLI.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from fleetdeck.errors import FleetdeckError, InvalidInputError, NotFoundError
from fleetdeck.server.gitops.git import Credentials, Git, is_sha
from fleetdeck.server.stacks.files import MAX_FILE_BYTES, MAX_FILES, MAX_STACK_BYTES, StackFile

if TYPE_CHECKING:
    from collections.abc import Iterable

#: Most bytes a repository's cache may take after a fetch (objects and working tree).
MAX_REPO_BYTES = 512 * 1024 * 1024
DEFAULT_COMPOSE = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")
_NAME_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


def check_ref(ref: str) -> str:
    """A branch, tag or full commit id (no option-like or odd names)."""
    if not _REF.match(ref) or ".." in ref or ref.endswith((".lock", "/", ".")) or "//" in ref:
        raise InvalidInputError(
            f"invalid Git ref {ref!r}", hint="a branch (main), a tag (v1.2) or a full commit id"
        )
    return ref


def check_relative(path: str, what: str) -> str:
    """A relative POSIX path with no ``..`` step (``""`` or ``.``: the top)."""
    if path in ("", "."):
        return ""
    pure = PurePosixPath(path)
    if path.startswith("/") or "\\" in path or any(p in ("..",) for p in pure.parts):
        raise InvalidInputError(
            f"{what} {path!r} leaves the repository", hint="give a path relative to its top"
        )
    if len(path) > 512 or any(ord(c) < 32 for c in path):
        raise InvalidInputError(f"{what} {path!r} is too long or has control characters")
    return str(pure)


def inside(root: Path, relative: str, what: str) -> Path:
    """``root/relative`` with symlinks resolved, or InvalidInputError when it leaves ``root``."""
    real_root = root.resolve()
    target = (root / relative).resolve() if relative else real_root
    if target != real_root and real_root not in target.parents:
        raise InvalidInputError(f"{what} {relative!r} resolves outside the repository")
    return target


def resolve_ref(refs: dict[str, str], ref: str) -> tuple[str, str]:
    """``(full ref name, commit)`` that ``ref`` names among ``ls-remote``'s refs.

    A branch wins over a tag of the same name; a tag's peeled commit (``refs/tags/T^{}``)
    over the tag object; a full sha names itself (its name is the sha).
    """
    if is_sha(ref):
        return ref, ref
    for name in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
        if name in refs:
            return name, refs.get(f"{name}^{{}}", refs[name])
    raise NotFoundError(f"the repository has no branch or tag {ref!r}")


def parse_ls_remote(text: str) -> dict[str, str]:
    """``{ref: sha}`` from ``git ls-remote`` output."""
    refs: dict[str, str] = {}
    for line in text.splitlines():
        sha, _, name = line.partition("\t")
        if is_sha(sha) and name:
            refs[name] = sha
    return refs


def local_ref(full: str) -> str:
    """Where a fetched branch or tag is kept in the working copy (a sha: itself)."""
    return full if is_sha(full) else "refs/fleetdeck/" + full.removeprefix("refs/")


def fetch_refspec(full: str) -> str:
    """What to fetch for a full ref name (into :func:`local_ref`) or a sha."""
    return full if is_sha(full) else f"+{full}:{local_ref(full)}"


@dataclass(frozen=True)
class StackFiles:
    """What a stack's source gives the deploy: its files, env file text and commit."""

    commit: str
    files: list[StackFile]
    env_file: str | None


class RepoCache:
    """One repository's working copy.

    Args:
        git: The git runner.
        directory: The working copy (made, healed, removed here only).
        url: The repository's URL (``origin``).
        creds: Its credentials.
    """

    def __init__(self, git: Git, directory: Path, url: str, creds: Credentials) -> None:
        self.git, self.directory, self.url, self.creds = git, directory, url, creds

    async def ls_remote(self) -> dict[str, str]:
        """Every ref of the remote and its commit (one request, no fetch)."""
        out = await self.git.run(
            ["ls-remote", "--", self.url], creds=self.creds, what="git ls-remote"
        )
        return parse_ls_remote(out.stdout)

    async def ensure(self) -> None:
        """A usable working copy with ``origin`` at the URL: made or healed, never cloned."""
        if self.directory.exists() and not await self._healthy():
            shutil.rmtree(self.directory, ignore_errors=True)
        if not self.directory.exists():
            self.directory.mkdir(parents=True)
            await self._git("init", "-q")
            await self._git("remote", "add", "origin", self.url)
        else:
            await self._git("remote", "set-url", "origin", self.url)

    async def _healthy(self) -> bool:
        try:
            out = await self._git("rev-parse", "--is-inside-work-tree", "--show-toplevel")
        except FleetdeckError:
            return False
        lines = out.splitlines()
        return len(lines) == 2 and lines[0] == "true" and Path(lines[1]) == self.directory.resolve()

    async def fetch(self, refs: Iterable[str]) -> None:
        """Fetch these refs (branch, tag or sha names) shallowly; bounded in size."""
        specs = sorted({fetch_refspec(r) for r in refs})
        await self.git.run(
            ["fetch", "--quiet", "--depth=1", "--no-tags", "origin", "--", *specs],
            cwd=self.directory, creds=self.creds, what="git fetch",
        )  # fmt: skip
        size = _tree_bytes(self.directory)
        if size > MAX_REPO_BYTES:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise InvalidInputError(
                f"the repository takes {size} bytes, over the {MAX_REPO_BYTES} bytes allowed",
                hint="keep large artefacts out of the deployed repository",
            )

    async def commit_of(self, full: str) -> str:
        """The commit a fetched ref (full name or sha) points at in the working copy."""
        return (await self._git("rev-parse", "--verify", f"{local_ref(full)}^{{commit}}")).strip()

    async def has(self, commit: str) -> bool:
        """Whether the working copy holds ``commit``."""
        try:
            await self._git("cat-file", "-e", f"{commit}^{{commit}}")
        except FleetdeckError:
            return False
        return True

    async def checkout(self, commit: str, *, submodules: bool = False) -> None:
        """Make the working tree exactly ``commit`` (nothing else left in it)."""
        await self._git("checkout", "--quiet", "--force", "--detach", commit)
        await self._git("clean", "-ffdxq")
        if submodules:
            await self.git.run(
                ["submodule", "update", "--init", "--recursive", "--depth=1", "--force"],
                cwd=self.directory, creds=self.creds, what="git submodule update",
            )  # fmt: skip

    async def changed(self, old: str, new: str, paths: list[str]) -> bool:
        """Whether any of ``paths`` differs between two commits (unknown old: changed)."""
        if old == new:
            return False
        if not await self.has(old):
            return True
        out = await self._git("diff", "--name-only", old, new, "--", *(paths or ["."]))
        return bool(out.strip())

    async def _git(self, *args: str) -> str:
        result = await self.git.run(list(args), cwd=self.directory, what=f"git {args[0]}")
        return result.stdout


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                continue
    return total


def read_stack(
    root: Path, commit: str, path: str, compose: list[str], env_file: str | None
) -> StackFiles:
    """The files of a stack at ``root/path`` (a checkout), as the deploy machinery takes them.

    Its Compose files (``compose``, relative to ``path``; default the first of
    :data:`DEFAULT_COMPOSE` there) come first, in order; other top-level YAML files are left
    out (they would be read as Compose files too); dot-files and ``.git`` are left out; the
    env file (relative to ``path``) is given as text.
    """
    base = inside(root, check_relative(path, "path"), "path")
    if not base.is_dir():
        raise NotFoundError(f"path {path!r} is not a directory of the repository at {commit[:12]}")
    names = [check_relative(c, "Compose file") for c in compose] or [
        next((n for n in DEFAULT_COMPOSE if (base / n).is_file()), DEFAULT_COMPOSE[0])
    ]
    for name in names:
        if "/" in name:
            raise InvalidInputError(
                f"Compose file {name!r} is not directly in the path",
                hint="set --path to the directory of the Compose files",
            )
        target = inside(root, str((base / name).relative_to(root.resolve())), "Compose file")
        if not target.is_file():
            raise NotFoundError(f"no Compose file {name!r} in {path or '.'!r} at {commit[:12]}")
    env_text = None
    if env_file:
        rel = check_relative(env_file, "env file")
        target = inside(root, str((base / rel).relative_to(root.resolve())), "env file")
        if not target.is_file():
            raise NotFoundError(f"no env file {env_file!r} in {path or '.'!r} at {commit[:12]}")
        try:
            env_text = target.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError(f"env file {env_file!r} is not UTF-8 text") from None
    others = [
        f for f in _walk(root.resolve(), base) if f.name not in names and not _top_yaml(f.name)
    ]
    files = [_read(root.resolve(), base, name) for name in names] + others
    return StackFiles(commit, files, env_text)


def _top_yaml(name: str) -> bool:
    return "/" not in name and name.endswith((".yml", ".yaml"))


def _read(root: Path, base: Path, name: str) -> StackFile:
    return StackFile(name, (base / name).resolve().read_bytes())


def _walk(root: Path, base: Path) -> list[StackFile]:
    files: list[StackFile] = []
    total = 0
    for folder, dirs, names in os.walk(base, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if _NAME_PART.match(d) and not (here / d).is_symlink())
        for name in sorted(names):
            if not _NAME_PART.match(name):
                continue  # dot-files (.git, .env, .dockerignore): not part of the stack
            full = here / name
            rel = str(full.relative_to(base))
            real = full.resolve()
            if real != root and root not in real.parents:
                raise InvalidInputError(f"file {rel!r} is a symlink out of the repository")
            if not real.is_file():
                continue
            size = real.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InvalidInputError(f"file {rel!r} is {size} bytes, over {MAX_FILE_BYTES}")
            total += size
            if total > MAX_STACK_BYTES or len(files) >= MAX_FILES:
                raise InvalidInputError(
                    f"the stack's directory has more than {MAX_FILES} files or "
                    f"{MAX_STACK_BYTES} bytes",
                    hint="point --path at the stack's own directory",
                )
            files.append(StackFile(rel, real.read_bytes()))
    return files
