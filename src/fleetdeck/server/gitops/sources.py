"""A stack's Git source as the API takes it, checked before anything is stored.

The model other parts (drift, the fleet file, image updates) can use: a stack's source is
one row of ``stack_sources`` — ``{stack, environment, repo, ref, path, compose_files,
env_file, submodules}`` — and its sync state ``{commit, status, message, synced_at}``; a
revision deployed from Git has its commit in ``stack_revision_commits``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.server.gitops.checkout import check_ref, check_relative
from fleetdeck.server.stacks.files import check_stack_name

if TYPE_CHECKING:
    from fleetdeck.server.store.models_gitops import GitRepository, StackSource

REPO_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_COMPOSE_FILES = 16


@dataclass(frozen=True)
class SourceSpec:
    """Where a stack's files come from (validated by :meth:`checked`)."""

    stack: str
    environment: str
    repo: str
    ref: str = "main"
    path: str = ""
    compose_files: list[str] = field(default_factory=list)
    env_file: str | None = None
    submodules: bool = False

    def checked(self) -> SourceSpec:
        """The same spec with every name checked (InvalidInputError naming the bad one)."""
        from fleetdeck.errors import InvalidInputError

        check_stack_name(self.stack)
        if len(self.compose_files) > MAX_COMPOSE_FILES:
            raise InvalidInputError(f"at most {MAX_COMPOSE_FILES} Compose files")
        return SourceSpec(
            self.stack, self.environment, self.repo, check_ref(self.ref),
            check_relative(self.path, "path"),
            [check_relative(c, "Compose file") for c in self.compose_files],
            check_relative(self.env_file, "env file") if self.env_file else None,
            self.submodules,
        )  # fmt: skip

    def fields(self) -> dict[str, Any]:
        """The columns of ``stack_sources`` this spec sets."""
        return {
            "environment": self.environment, "repo": self.repo, "ref": self.ref,
            "path": self.path, "compose_files": list(self.compose_files),
            "env_file": self.env_file, "submodules": self.submodules,
        }  # fmt: skip


def repo_name_from_url(url: str) -> str:
    """A repository name made from its URL (``…/team/shop.git`` → ``shop``)."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git").lower()
    name = re.sub(r"[^a-z0-9_.-]+", "-", tail).strip("-._")[:64]
    return name or "repo"


def source_json(row: StackSource, commits: dict[int, str] | None = None) -> dict[str, Any]:
    """A stack's source and sync state as the API answers it."""
    body: dict[str, Any] = {
        "stack": row.stack, "environment": row.environment, "repo": row.repo, "ref": row.ref,
        "path": row.path, "compose_files": list(row.compose_files or []),
        "env_file": row.env_file, "submodules": row.submodules, "commit": row.commit,
        "status": row.status, "message": row.message, "synced_at": row.synced_at,
    }  # fmt: skip
    if commits is not None:
        body["revisions"] = [{"revision": r, "commit": c} for r, c in sorted(commits.items())]
    return body


def repo_json(row: GitRepository, stacks: list[str], default_interval: float) -> dict[str, Any]:
    """A repository as the API answers it: never its token or key (only which one it has)."""
    auth = "ssh_key" if row.sealed_ssh_key else ("token" if row.sealed_token else "none")
    return {
        "name": row.name, "url": row.url, "username": row.username, "auth": auth,
        "poll_interval_s": row.poll_interval_s or default_interval,
        "webhook_path": f"/api/v1/repos/{row.name}/webhook", "stacks": stacks,
    }  # fmt: skip
