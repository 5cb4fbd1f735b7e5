"""Client methods for stacks from Git: repositories, a stack's source, syncs (``/repos``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.client.base import BaseClient, quote_segment
from fleetdeck.wire.gitops import GitRepo, RepoWebhook, StackSource, SyncResult

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Seconds a sync may take (a fetch and a health-gated deploy).
SYNC_TIMEOUT_S = 900.0


class GitOpsAPI(BaseClient):
    """Routes under ``/repos`` and ``/stacks/{name}/source|sync``."""

    def list_repos(self) -> list[GitRepo]:
        """``GET /repos``: every repository (never a secret)."""
        return [GitRepo.model_validate(r) for r in self._request("GET", "/repos")]

    def create_repo(
        self, name: str, url: str, *, username: str | None = None, token: str | None = None,
        ssh_key: str | None = None, poll_interval_s: int | None = None,
    ) -> GitRepo:  # fmt: skip
        """``POST /repos``: the token or deploy key is sent once and never returned."""
        body: dict[str, Any] = {"name": name, "url": url, "username": username, "token": token,
                                "ssh_key": ssh_key, "poll_interval_s": poll_interval_s}  # fmt: skip
        body = {k: v for k, v in body.items() if v is not None}
        return GitRepo.model_validate(self._request("POST", "/repos", json_body=body))

    def delete_repo(self, name: str) -> None:
        """``DELETE /repos/{name}``."""
        self._request("DELETE", f"/repos/{quote_segment(name)}")

    def repo_webhook(self, name: str) -> RepoWebhook:
        """``GET /repos/{name}/webhook``: its URL and secret (admin)."""
        path = f"/repos/{quote_segment(name)}/webhook"
        return RepoWebhook.model_validate(self._request("GET", path))

    def set_stack_source(
        self, name: str, environment: str | None, repo: str, *, ref: str = "main", path: str = "",
        compose_files: list[str] | None = None, env_file: str | None = None,
        submodules: bool = False,
    ) -> SyncResult:  # fmt: skip
        """``PUT /stacks/{name}/source``: point a stack at Git and sync (deploy) it now."""
        body = {"environment": environment, "repo": repo, "ref": ref, "path": path,
                "compose_files": compose_files or [], "env_file": env_file,
                "submodules": submodules}  # fmt: skip
        answer = self._request("PUT", f"/stacks/{quote_segment(name)}/source", json_body=body,
                               timeout=SYNC_TIMEOUT_S)  # fmt: skip
        return SyncResult.model_validate(answer)

    def stack_source(self, name: str) -> StackSource:
        """``GET /stacks/{name}/source``: the source, last sync and revisions' commits."""
        return StackSource.model_validate(
            self._request("GET", f"/stacks/{quote_segment(name)}/source")
        )

    def sync_stack(self, name: str) -> SyncResult:
        """``POST /stacks/{name}/sync``: fetch now, deploy if it changed."""
        answer = self._request("POST", f"/stacks/{quote_segment(name)}/sync",
                               timeout=SYNC_TIMEOUT_S)  # fmt: skip
        return SyncResult.model_validate(answer)

    def deploy_stack_git(
        self, name: str, environment: str | None, git: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """The fleet file's Git deploy (``fleetfile.live.GIT_DEPLOY``): set the source, sync.

        ``git`` is a fleet file's ``git:`` block (``url`` or ``repository``, ``ref``, ``path``,
        ``files``, ``env_file``). Yields one ``result`` event, as :meth:`deploy_stack`'s
        stream ends, so the fleet file applies both kinds of stack the same way.
        """
        synced = self.set_stack_source(
            name, environment, git.get("repository") or git["url"], ref=git.get("ref") or "main",
            path=git.get("path") or "", compose_files=list(git.get("files") or []) or None,
            env_file=git.get("env_file"),
        )  # fmt: skip
        yield {"type": "result", "ok": synced.result != "failed", "message": synced.message,
               "revision": synced.revision, "commit": synced.commit}  # fmt: skip
