"""The GitOps service (``ServerContext.gitops``): repositories, stack sources, syncs, webhooks.

One sync of a repository (:meth:`GitOpsService.sync_repo`) is: one ``git ls-remote``
however many stacks use it; for each stack whose ref now names another commit than the one
it was last taken from, one shallow fetch (all those refs at once), then per stack a check
of whether anything under its ``path`` changed between the two commits — a stack whose
directory did not change only records the new commit; the others are checked out, read and
deployed through the stack service (:meth:`StackService.prepare`), so every deploy is the
normal health-gated one with its automatic undo, and its revision's commit is recorded.

Triggers: the ``gitops-sync`` loop polls each repository every ``poll_interval_s`` (±10 %);
a verified webhook marks its repository wanted and wakes the loop, so a flood of deliveries
makes one sync (the loop's ``min_gap``). A webhook is a hint, polling the backstop.

Faults (unreachable repository, refused credentials, unknown ref, a commit whose Compose is
invalid): nothing running is touched; the source's status is ``failed`` with the reason (the
loader's ``FILE:LINE: …`` for a bad Compose file), the ``gitops_sync_failed`` alert fires
once per failing commit, and the same failing commit is not retried by polling (a new
commit, or ``stack sync``, tries again). A stack whose containers are all stopped stays
stopped: a poll or webhook does not redeploy it (``stack sync`` does).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets as token_source
import shutil
import time
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import (
    FleetdeckError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from fleetdeck.labels import COMPOSE_PROJECT
from fleetdeck.server.gitops.checkout import RepoCache, read_stack, resolve_ref
from fleetdeck.server.gitops.git import Credentials, Git, check_url, is_sha, transport_of
from fleetdeck.server.gitops.sources import (
    REPO_NAME,
    SourceSpec,
    repo_json,
    repo_name_from_url,
    source_json,
)
from fleetdeck.server.gitops.webhooks import SeenDeliveries, delivery_id, verify
from fleetdeck.server.loops import BackgroundLoop
from fleetdeck.server.stacks.plan import Strategy
from fleetdeck.server.stacks.service import Proposal
from fleetdeck.server.store.models import utcnow
from fleetdeck.server.store.models_gitops import GitRepository, StackSource

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from pathlib import Path

    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.gitops.checkout import StackFiles
    from fleetdeck.server.gitops.repository import GitOpsRepository
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.stacks.service import StackService

log = logging.getLogger("fleetdeck.server.gitops")
#: The alert condition of a failed sync (``fleetdeck.server.alerts.rules``).
SYNC_FAILED = "gitops_sync_failed"
#: Fraction of a repository's interval each poll is moved by at random.
POLL_JITTER = 0.1
#: Seconds the loop waits after a sync before the next, even when woken (flood coalescing).
MIN_GAP_S = 0.5


class GitOpsService:
    """Stacks from Git on one server.

    Args:
        repo: The GitOps tables.
        secrets: Seals credentials and webhook secrets.
        stacks: The stack service (deploys).
        audit: Where system deploys are recorded.
        report_event: The alerts part's ``report_event``.
        data_dir: The server's data dir (caches under ``git/``).
        poll_interval_s: Default seconds between two polls of a repository.
    """

    def __init__(
        self,
        repo: GitOpsRepository,
        secrets: SecretBox,
        stacks: StackService,
        audit: AuditLog,
        report_event: Callable[..., Awaitable[None]],
        data_dir: Path,
        poll_interval_s: float,
    ) -> None:
        self.repo, self.secrets, self.stacks, self.audit = repo, secrets, stacks, audit
        self.report_event = report_event
        self.root = data_dir / "git"
        self.git = Git(self.root / "home")
        self.poll_interval_s = poll_interval_s
        self.seen = SeenDeliveries()
        self._locks: dict[str, asyncio.Lock] = {}
        self._wanted: set[str] = set()
        self._next_poll: dict[str, float] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._rng = random.Random()  # noqa: S311 - spreading polls, not secrets
        #: ls-remote calls made (the benchmark counts them).
        self.ls_remote_calls = 0
        self.loop = BackgroundLoop(
            "gitops-sync", step=self.step, interval=min(5.0, poll_interval_s),
            jitter=POLL_JITTER, min_gap=MIN_GAP_S,
        )  # fmt: skip

    # ------------------------------------------------------------------ repositories
    async def add_repo(
        self, name: str, url: str, username: str | None, token: str | None,
        ssh_key: str | None, poll_interval_s: int | None,
    ) -> GitRepository:  # fmt: skip
        """Store a repository; its token/key sealed, a webhook secret made for it."""
        if not REPO_NAME.match(name):
            raise InvalidInputError(
                f"invalid repository name {name!r}", hint="lower-case letters, digits, . _ -"
            )
        check_url(url)
        if token is not None and ssh_key is not None:
            raise InvalidInputError("give a token or an SSH deploy key, not both")
        if token is not None and transport_of(url) != "http":
            raise InvalidInputError("a token is for an https:// URL; use --ssh-key for SSH")
        if ssh_key is not None and transport_of(url) != "ssh":
            raise InvalidInputError("an SSH deploy key is for an ssh:// or git@host:path URL")
        if ssh_key is not None and "PRIVATE KEY" not in ssh_key:
            raise InvalidInputError("the SSH deploy key is not an OpenSSH/PEM private key")
        if poll_interval_s is not None and not 1 <= poll_interval_s <= 86400:
            raise InvalidInputError("poll_interval_s is between 1 and 86400")
        row = GitRepository(
            name=name, url=url, username=username, poll_interval_s=poll_interval_s,
            sealed_token=self.secrets.seal(token, f"repo:{name}:token") if token else None,
            sealed_ssh_key=self.secrets.seal(ssh_key, f"repo:{name}:ssh_key") if ssh_key else None,
            sealed_webhook_secret=self.secrets.seal(
                token_source.token_urlsafe(32), f"repo:{name}:webhook"
            ),
        )  # fmt: skip
        return await self.repo.add_repo(row)

    async def delete_repo(self, name: str) -> None:
        """Forget a repository (refused while a stack uses it) and remove its cache."""
        row = await self.repo.repo(name)
        await self.repo.delete_repo(name)
        shutil.rmtree(self.root / "repos" / row.id, ignore_errors=True)

    async def repos_json(self) -> list[dict[str, Any]]:
        """Every repository with the stacks that use it (no secrets)."""
        sources = await self.repo.sources()
        return [
            repo_json(r, [s.stack for s in sources if s.repo == r.name], self.poll_interval_s)
            for r in await self.repo.repos()
        ]

    async def repo_view(self, name: str) -> dict[str, Any]:
        """One repository (no secrets)."""
        row = await self.repo.repo(name)
        stacks = [s.stack for s in await self.repo.sources(name)]
        return repo_json(row, stacks, self.poll_interval_s)

    async def webhook_secret(self, name: str) -> str:
        """The repository's webhook secret (admins only see it)."""
        row = await self.repo.repo(name)
        return self.secrets.open(row.sealed_webhook_secret, f"repo:{name}:webhook")

    def _creds(self, row: GitRepository) -> Credentials:
        token = (
            self.secrets.open(row.sealed_token, f"repo:{row.name}:token")
            if row.sealed_token
            else None
        )
        key = (self.secrets.open(row.sealed_ssh_key, f"repo:{row.name}:ssh_key")
               if row.sealed_ssh_key else None)  # fmt: skip
        return Credentials(row.username, token, key)

    def _cache(self, row: GitRepository) -> RepoCache:
        return RepoCache(self.git, self.root / "repos" / row.id, row.url, self._creds(row))

    # ------------------------------------------------------------------ sources
    async def resolve_repo(self, given: str, *, admin: bool) -> str:
        """The repository named ``given``, or with that URL; an admin's new URL is added."""
        if REPO_NAME.match(given) and await self.repo.find_repo(given) is not None:
            return given
        for row in await self.repo.repos():
            if row.url == given:
                return row.name
        check_url(given)
        if not admin:
            raise PermissionDeniedError(
                f"no repository with URL {given!r}",
                hint="an admin adds it first: fleetdeck repos add NAME URL",
            )
        name = repo_name_from_url(given)
        taken = {r.name for r in await self.repo.repos()}
        base, n = name, 2
        while name in taken:
            name, n = f"{base[:60]}-{n}", n + 1
        await self.add_repo(name, given, None, None, None, None)
        return name

    async def environment_of(self, stack: str) -> str:
        """The environment a stack runs in (its source's, else its definition's)."""
        source = await self.repo.source(stack)
        if source is not None:
            return source.environment
        stored = await self.stacks.repo.find(stack)
        if stored is not None and stored.environment:
            return stored.environment
        raise InvalidInputError("say which environment the stack goes to (--env)")

    async def set_source(self, spec: SourceSpec, actor: str, *, admin: bool) -> dict[str, Any]:
        """Point a stack at Git and sync it now (deploying what its ref names)."""
        spec = spec.checked()
        self.stacks.fleet.require_environment(spec.environment)
        await self.repo.repo(spec.repo)
        before = await self.repo.source(spec.stack)
        await self.repo.put_source(spec.stack, spec.fields())
        existing = await self.stacks.repo.find(spec.stack)
        if existing is None or not existing.files:
            # A stack removed since (stack rm) starts afresh, not "removed" again.
            await self.repo.update_source(spec.stack, commit=None, status="pending")
        results = await self.sync_repo(spec.repo, only=spec.stack, force=True, actor=actor,
                                       admin=admin)  # fmt: skip
        result = results[0]
        stored = await self.stacks.repo.find(spec.stack)
        first = before is None or existing is None or not existing.files
        if result["result"] == "failed" and first and (stored is None or not stored.files):
            # A first deploy that failed leaves nothing behind (nothing runs from it).
            await self.repo.delete_source(spec.stack)
            labels = {"environment": spec.environment, "stack": spec.stack, "repo": spec.repo}
            await self.report_event(SYNC_FAILED, labels, "the stack's source was not kept",
                                    resolved=True)  # fmt: skip
        return result

    async def source_view(self, stack: str) -> dict[str, Any]:
        """A stack's source, sync state and the commits of its Git revisions."""
        row = await self.repo.source(stack)
        if row is None:
            raise NotFoundError(f"stack {stack!r} has no Git source")
        return source_json(row, await self.repo.commits(stack))

    async def sync_stack(self, stack: str, actor: str, *, admin: bool) -> dict[str, Any]:
        """``stack sync``: fetch now and deploy what the ref names (a stopped stack too)."""
        row = await self.repo.source(stack)
        if row is None:
            raise NotFoundError(
                f"stack {stack!r} has no Git source",
                hint="deploy it from Git: fleetdeck stack deploy NAME --git URL",
            )
        results = await self.sync_repo(row.repo, only=stack, force=True, actor=actor, admin=admin)
        return results[0]

    # ------------------------------------------------------------------ webhooks
    async def delivery(self, name: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """A webhook delivery: verified (401 otherwise), deduped, then the repository is wanted."""
        row = await self.repo.find_repo(name)
        if row is None:
            from fleetdeck.errors import UnauthenticatedError

            # The same answer as a bad signature: the URL tells nothing about what exists.
            raise UnauthenticatedError("the webhook's signature does not match")
        scheme = verify(self.secrets.open(row.sealed_webhook_secret, f"repo:{name}:webhook"),
                        headers, body)  # fmt: skip
        first = self.seen.first_time(name, delivery_id(headers))
        if first:
            self._wanted.add(name)
            self.loop.wake()
        return {"accepted": True, "duplicate": not first, "scheme": scheme}

    # ------------------------------------------------------------------ the loop
    async def step(self) -> None:
        """One round: start a sync of every repository a webhook asked for or whose poll is due.

        Each repository syncs in a task of its own, so a long deploy from one repository
        never delays another's poll or webhook; a repository whose sync still runs is not
        started twice (a webhook meanwhile leaves it wanted: it syncs again after).
        """
        now = time.monotonic()
        for row in await self.repo.repos():
            interval = float(row.poll_interval_s or self.poll_interval_s)
            self.loop.interval = min(self.loop.interval, max(1.0, interval / 2))
            due = now >= self._next_poll.get(row.name, 0.0)
            if row.name not in self._wanted and not due:
                continue
            running = self._tasks.get(row.name)
            if running is not None and not running.done():
                continue
            self._wanted.discard(row.name)
            spread = interval * (1 + self._rng.uniform(-POLL_JITTER, POLL_JITTER))
            self._next_poll[row.name] = now + spread
            task = asyncio.create_task(self._sync_logged(row.name), name=f"gitops {row.name}")
            self._tasks[row.name] = task

    async def _sync_logged(self, name: str) -> None:
        try:
            await self.sync_repo(name)
        except Exception:  # one repository must not stop the others' syncs
            log.exception("sync of repository %s failed", name)
        finally:
            if name in self._wanted:
                self.loop.wake()  # a webhook came during this sync: go again

    async def stop(self) -> None:
        """Stop the loop and the syncs in flight (the next start converges)."""
        await self.loop.stop()
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        self._tasks.clear()

    def lock(self, repo: str) -> asyncio.Lock:
        """One sync at a time per repository (its working copy is shared)."""
        return self._locks.setdefault(repo, asyncio.Lock())

    async def sync_repo(
        self, name: str, *, only: str | None = None, force: bool = False,
        actor: str = "gitops", admin: bool = False,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Sync the stacks of one repository (or only one of them); their results."""
        row = await self.repo.repo(name)
        sources = [s for s in await self.repo.sources(name) if only is None or s.stack == only]
        results: dict[str, dict[str, Any]] = {}
        ready: list[tuple[StackSource, StackFiles]] = []
        async with self.lock(name):
            cache = self._cache(row)
            try:
                self.ls_remote_calls += 1
                refs = await cache.ls_remote()
            except FleetdeckError as exc:
                for source in sources:
                    results[source.stack] = await self._failed(source, None, exc.message)
                return [results[s.stack] for s in sources]
            due: dict[str, tuple[StackSource, str, str]] = {}
            for source in sources:
                try:
                    full, sha = resolve_ref(refs, source.ref)
                except FleetdeckError as exc:
                    results[source.stack] = await self._failed(source, None, exc.message)
                    continue
                skip = await self._skip(source, sha, force=force)
                if skip is not None:
                    results[source.stack] = skip
                else:
                    due[source.stack] = (source, full, sha)
            if due:
                ready = await self._fetch_and_read(cache, due, results, force=force)
        for source, files in ready:
            results[source.stack] = await self._deploy(source, files, actor, admin=admin)
        return [results[s.stack] for s in sources if s.stack in results]

    async def _skip(self, source: StackSource, sha: str, *, force: bool) -> dict[str, Any] | None:
        """The result when ``source`` needs nothing this round, else None."""
        stored = await self.stacks.repo.find(source.stack)
        if source.commit is not None and (stored is None or not stored.files):
            # Deployed from Git once, then removed by hand (stack rm): forget its source.
            await self.repo.delete_source(source.stack)
            return _result(source, sha, "removed", "the stack was removed; its source is gone")
        if force:
            return None
        if source.commit == sha and source.status == "synced":
            return _result(source, sha, "synced", source.message)
        if source.status == "failed" and source.failed_commit == sha:
            return _result(source, sha, "failed", source.message)
        if stored is not None and stored.revision is not None and self._stopped(source):
            message = "stopped by a user: not redeployed (stack sync deploys it)"
            await self.repo.update_source(source.stack, message=message)
            return _result(source, sha, "stopped", message)
        return None

    def _stopped(self, source: StackSource) -> bool:
        """Whether the stack has containers and none of them runs (a user stopped it)."""
        states = [
            c.state
            for node in self.stacks.fleet.inventory.nodes(source.environment)
            for c in node.containers.values()
            if c.labels.get(COMPOSE_PROJECT) == source.stack
        ]
        return bool(states) and "running" not in states

    async def _fetch_and_read(
        self, cache: RepoCache, due: dict[str, tuple[StackSource, str, str]],
        results: dict[str, dict[str, Any]], *, force: bool,
    ) -> list[tuple[StackSource, StackFiles]]:  # fmt: skip
        """Fetch the due refs once, then each due stack's files (or why not)."""
        try:
            await cache.ensure()
            await cache.fetch({full for _, full, _ in due.values()})
        except FleetdeckError as exc:
            for source, _, sha in due.values():
                results[source.stack] = await self._failed(source, sha, exc.message)
            return []
        ready = []
        for source, full, sha in due.values():
            try:
                commit = sha if is_sha(full) else await cache.commit_of(full)
                paths = [source.path or "."]
                if (not force and source.commit is not None
                        and not await cache.changed(source.commit, commit, paths)):  # fmt: skip
                    message = f"nothing changed under {source.path or '.'} at {commit[:12]}"
                    await self.repo.update_source(source.stack, commit=commit, status="synced",
                                                  message=message, synced_at=utcnow())  # fmt: skip
                    results[source.stack] = _result(source, commit, "unchanged", message)
                    continue
                await cache.checkout(commit, submodules=source.submodules)
                files = await asyncio.to_thread(
                    read_stack, cache.directory, commit, source.path,
                    list(source.compose_files or []), source.env_file,
                )  # fmt: skip
            except FleetdeckError as exc:
                results[source.stack] = await self._failed(source, sha, exc.message)
                continue
            ready.append((source, files))
        return ready

    async def _deploy(
        self, source: StackSource, files: StackFiles, actor: str, *, admin: bool
    ) -> dict[str, Any]:
        """Deploy a stack's files from ``files.commit`` through the stack service."""
        name, commit = source.stack, files.commit
        lock = self.stacks.lock(name)
        if lock.locked():
            message = "a deploy of the stack is in progress: synced again next round"
            self._wanted.add(source.repo)
            return _result(source, commit, "pending", message)
        await lock.acquire()
        proposal = Proposal(source.environment, files.files, files.env_file)
        try:
            run = await self.stacks.prepare(name, actor, proposal, Strategy.auto, admin=admin)
        except FleetdeckError as exc:
            lock.release()
            return await self._failed(source, commit, exc.message)
        except BaseException:
            lock.release()
            raise
        revision = run.target.revision
        detail = {"repo": source.repo, "commit": commit, "revision": revision}

        async def after(outcome: Any) -> None:
            try:
                result = "ok" if outcome.ok else f"error: {outcome.message}"
                await self.audit.record(actor, "stack.deploy", name, result, detail)
            finally:
                lock.release()

        run.after = after
        if revision is not None:
            await self.repo.record_commit(name, revision, source.repo, commit)
        outcome: dict[str, Any] = {}
        async for item in run.start():
            if item.get("type") == "result":
                outcome = item
        if not outcome.get("ok"):
            return await self._failed(source, commit, str(outcome.get("message", "deploy failed")),
                                      revision=revision)  # fmt: skip
        message = f"deployed {commit[:12]}: {outcome.get('message', '')}"
        await self.repo.update_source(name, commit=commit, status="synced", message=message,
                                      failed_commit=None, synced_at=utcnow())  # fmt: skip
        if source.status == "failed":
            await self.report_event(SYNC_FAILED, _labels(source), message, resolved=True)
        return _result(source, commit, "deployed", message, revision)

    async def _failed(
        self, source: StackSource, commit: str | None, message: str, revision: int | None = None
    ) -> dict[str, Any]:
        """Record a failed sync; alert once per failing commit (or once while unreachable)."""
        marker = commit or "-"
        first = source.status != "failed" or source.failed_commit != marker
        await self.repo.update_source(source.stack, status="failed", message=message,
                                      failed_commit=marker, synced_at=utcnow())  # fmt: skip
        if first:
            text = f"sync of stack {source.stack} from {source.repo} failed: {message}"
            await self.report_event(SYNC_FAILED, _labels(source), text, severity="warning")
        source.status, source.failed_commit = "failed", marker
        return _result(source, commit, "failed", message, revision)


def _labels(source: StackSource) -> dict[str, str]:
    return {"environment": source.environment, "stack": source.stack, "repo": source.repo}


def _result(
    source: StackSource, commit: str | None, result: str, message: str, revision: int | None = None
) -> dict[str, Any]:
    return {
        "stack": source.stack, "repo": source.repo, "ref": source.ref, "commit": commit,
        "result": result, "message": message, "revision": revision,
    }  # fmt: skip
