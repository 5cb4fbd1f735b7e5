"""The image-update watcher (loop ``image-updates``): one round per interval, with jitter.

A round:

1. lists what runs: every managed stack with a running revision (plain hosts and Swarm
   alike), each service's image as the Compose file names it and the digest that revision
   pinned (``repo@sha256:…``, what its containers or Swarm tasks were created from);
2. works out each service's policy (:mod:`.policy`); ``off`` services are not checked;
3. asks the registry once per distinct image reference (however many services and
   containers use it) through :class:`~.registry.RegistryChecker` (cache, budget, backoff);
4. compares: a tag pointing at another digest than the one running is an update, a
   same-tag re-push included. ``notify``: one ``image_update_available`` alert per new
   digest and ``available`` in ``updates ls``. ``auto``: one deploy of the stack (its running
   revision's files, every other service pinned to what it runs) pinned to the new digests,
   through the stack service, so the health gate and its automatic undo apply. An undone
   update records the digest as failed: it is never tried again (a newer digest is), and
   ``image_update_failed`` alerts.

A registry that rate-limits or is down backs off and its services keep what they run:
nothing is deployed on a missing answer. Everything a round decides is stored per service,
so a restarted server goes on from there (no second alert, no retry of a failed digest).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.compose.variables import environment as variable_environment
from fleetdeck.errors import FleetdeckError, InvalidInputError
from fleetdeck.server.alerts.rules import IMAGE_UPDATE_AVAILABLE, IMAGE_UPDATE_FAILED
from fleetdeck.server.loops import BackgroundLoop, Backoff
from fleetdeck.server.stacks import files as stack_files
from fleetdeck.server.stacks.plan import Strategy, TargetKind
from fleetdeck.server.stacks.repository import SHELL_SOURCE, Variable
from fleetdeck.server.stacks.service import Proposal
from fleetdeck.server.store.models_updates import UpdateStateRow
from fleetdeck.server.updates import policy as policies
from fleetdeck.server.updates.references import parse_reference
from fleetdeck.server.updates.registry import Outcome

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.clock import Clock
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store.models_stacks import StackDefinition, StackRevision
    from fleetdeck.server.updates.references import ImageRef
    from fleetdeck.server.updates.registry import Answer, RegistryChecker
    from fleetdeck.server.updates.repository import UpdatesRepository

    ReportEvent = Callable[..., Awaitable[None]]

log = logging.getLogger("fleetdeck.server.updates")
ACTOR = "image-updates"
DEFAULT_INTERVAL_S = 3600.0


@dataclass
class Watched:
    """One stack service whose image is followed."""

    stack: str
    service: str
    environment: str
    image: str
    ref: ImageRef
    running: str | None
    policy: str
    source: str
    #: What is wrong with the stack's ``x-fleetdeck.updates`` (then it is only notified).
    problem: str = ""


@dataclass
class _Stack:
    """A stack's running revision, as an automatic update deploys it again."""

    stored: StackDefinition
    row: StackRevision
    proposal: Proposal


#: A running revision as loaded: the stack, its project, its Compose policies and what is
#: wrong with them.
_Loaded = tuple[_Stack, Any, dict[str, str], str]


@dataclass
class RoundResult:
    """What one round did (``updates check``)."""

    references: int = 0
    services: int = 0
    head_requests: int = 0
    token_requests: int = 0
    updated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _digest_of(pinned: str | None) -> str | None:
    if not pinned or "@" not in pinned:
        return None
    return pinned.partition("@")[2] or None


class UpdateWatcher:
    """Checks every watched image once per round and acts on each service's policy.

    Args:
        stacks: The stack service (definitions, revisions, deploys and their locks).
        repo: The image-update tables.
        checker: Asks registries (one HEAD per reference).
        audit: Where automatic deploys are recorded (``updates.deploy``).
        report_event: The alerts part's ``report_event``.
        clock: The present.
        interval: Seconds between rounds (± 10 % jitter).
        rng: Shuffles the order references are asked in.
    """

    def __init__(
        self,
        stacks: StackService,
        repo: UpdatesRepository,
        checker: RegistryChecker,
        audit: AuditLog,
        report_event: ReportEvent,
        clock: Clock,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        rng: random.Random | None = None,
    ) -> None:
        self.stacks, self.repo, self.checker = stacks, repo, checker
        self.audit, self.report_event, self.clock = audit, report_event, clock
        self._rng = rng or random.Random()  # noqa: S311 - spreading requests, not secrets
        self._lock = asyncio.Lock()
        #: Loaded running revisions by (stack id, revision): a revision never changes once
        #: it runs, so its files are parsed once, not at every round and listing.
        self._loaded: dict[tuple[str, int], _Loaded] = {}
        self.last_round_at: datetime | None = None
        self.loop = BackgroundLoop(
            "image-updates", step=self.step, interval=interval, jitter=0.1,
            backoff=Backoff(60.0, 3600.0), clock=clock,
        )  # fmt: skip

    async def step(self) -> None:
        """One periodic round (answers younger than the checker's cache are reused)."""
        await self.round(fresh=False)

    # ------------------------------------------------------------ what runs
    async def _running(self, stored: StackDefinition) -> _Loaded:
        stacks = self.stacks
        assert stored.revision is not None  # noqa: S101 - callers check
        row = await stacks.repo.revision(stored, stored.revision)
        files = await stacks.repo.files(stored.name, row.files)
        chosen = [Variable.from_revision(v) for v in row.variables]
        shell = stacks.repo.opened(stored.name, [v for v in chosen if v.source == SHELL_SOURCE])
        stored_vars = [v for v in chosen if v.source != SHELL_SOURCE]
        values = variable_environment(shell, stacks.repo.opened(stored.name, stored_vars))
        project, _, _ = await stacks.load_off_loop(
            stored.name, files, row.env_file, values, swarm=stored.kind == TargetKind.swarm.value
        )
        proposal = Proposal(environment=row.environment, files=files, env_file=row.env_file,
                            shell=shell)  # fmt: skip
        names = set(stack_files.compose_files(files))
        texts = [(f.name, f.text) for f in files if f.name in names and f.text is not None]
        problem = ""
        try:
            compose = policies.compose_policies(stored.name, texts)
        except InvalidInputError as exc:
            # The safe side: say what is new, never deploy on a policy nobody could read.
            problem = f"{exc.message}: only notified until it is fixed"
            compose = {stored.name: "notify"}
        return _Stack(stored, row, proposal), project, compose, problem

    async def watched(self) -> tuple[list[Watched], dict[str, _Stack]]:
        """Every stack service with an image, its policy included (``off`` ones too)."""
        api = await self.repo.policies()
        found: list[Watched] = []
        running: dict[str, _Stack] = {}
        seen: dict[tuple[str, int], _Loaded] = {}
        for stored in await self.stacks.repo.all():
            if stored.revision is None or not stored.files:
                continue
            key = (stored.id, stored.revision)
            loaded = self._loaded.get(key)
            try:
                loaded = loaded or await self._running(stored)
            except FleetdeckError as exc:
                log.warning("image updates: stack %s not loaded: %s", stored.name, exc.message)
                continue
            seen[key] = loaded
            stack, project, compose, problem = loaded
            running[stored.name] = stack
            digests = dict(stack.row.image_digests or {})
            for name in sorted(project.services):
                image = project.services[name].image
                if not image:
                    continue
                try:
                    ref, pinned = parse_reference(image)
                except InvalidInputError:
                    continue  # a bare digest: nothing to follow
                policy, source = policies.effective(stored.name, name, api, compose)
                if problem and policy == "auto":
                    policy = "notify"
                found.append(
                    Watched(
                        stack=stored.name,
                        service=name,
                        environment=stored.environment,
                        image=image,
                        ref=ref,
                        running=_digest_of(digests.get(name)) or pinned,
                        policy=policy,
                        source=source,
                        problem=problem,
                    )  # fmt: skip
                )
        self._loaded = seen
        return found, running

    # ------------------------------------------------------------ a round
    async def round(self, *, fresh: bool) -> RoundResult:
        """Check every watched image once and act on each service's policy."""
        async with self._lock:
            return await self._round(fresh)

    async def _round(self, fresh: bool) -> RoundResult:
        watched, running = await self.watched()
        active = [w for w in watched if w.policy != "off"]
        states = {(r.stack, r.service): r for r in await self.repo.states()}
        refs = {w.ref.name: w.ref for w in active}
        before = self.checker.sent()
        order = sorted(refs.values())
        self._rng.shuffle(order)
        answers: dict[str, Answer] = {}
        for ref in order:
            answers[ref.name] = await self.checker.digest(ref, fresh=fresh)
        after = self.checker.sent()
        result = RoundResult(
            references=len(refs), services=len(active),
            head_requests=after["head"] - before["head"],
            token_requests=after["token"] - before["token"],
        )  # fmt: skip
        now = self.clock.now()
        pending: dict[str, list[tuple[Watched, UpdateStateRow, str]]] = {}
        for w in active:
            row = states.get((w.stack, w.service)) or UpdateStateRow(
                stack=w.stack, service=w.service, failed_digests=[], status="unknown", message=""
            )
            row.environment, row.image, row.reference = w.environment, w.image, w.ref.name
            if row.running_digest != w.running:
                row.running_digest = w.running
            digest = await self._judge(w, row, answers[w.ref.name], now)
            if digest is not None:
                pending.setdefault(w.stack, []).append((w, row, digest))
            await self.repo.save(row)
        await self.repo.forget({(w.stack, w.service) for w in active})
        for stack, updates in pending.items():
            await self._update(running[stack], updates, result)
        self.last_round_at = now
        return result

    async def _judge(
        self, w: Watched, row: UpdateStateRow, answer: Answer, now: datetime
    ) -> str | None:
        """Set ``row`` from the registry's answer; the digest to deploy (``auto``), if any."""
        if answer.outcome != Outcome.ok or answer.digest is None:
            row.message = answer.message
            if row.status in ("updating",):
                row.status = "unknown"
            return None
        row.checked_at = now.astimezone(UTC)
        row.available_digest = answer.digest
        labels = {"environment": w.environment, "stack": w.stack, "service": w.service,
                  "image": w.image}  # fmt: skip
        if w.running is None:
            row.status, row.message = "unknown", "the digest it runs is not known: deploy it once"
            return None
        if answer.digest == w.running:
            if row.notified_digest is not None:
                await self.report_event(
                    IMAGE_UPDATE_AVAILABLE, labels, f"{w.image} is current", resolved=True
                )
                row.notified_digest = None
            row.status, row.message = "current", ""
            return None
        if answer.digest in (row.failed_digests or []):
            row.status = "failed"
            row.message = f"the update to {answer.digest[:19]} was undone: it is not tried again"
            return None
        row.status, row.message = "available", f"{w.image} now points at {answer.digest[:19]}"
        if row.notified_digest != answer.digest:
            await self.report_event(
                IMAGE_UPDATE_AVAILABLE, labels,
                f"update available for {w.stack}/{w.service}: {w.image} → {answer.digest}",
            )  # fmt: skip
            row.notified_digest = answer.digest
        return answer.digest if w.policy == "auto" else None

    async def _update(
        self, stack: _Stack, updates: list[tuple[Watched, UpdateStateRow, str]], result: RoundResult
    ) -> None:
        """One health-gated deploy of ``stack`` pinned to the new digests."""
        name = stack.stored.name
        pins = dict(stack.row.image_digests or {})
        for w, row, digest in updates:
            pins[w.service] = w.ref.pinned(digest)
            row.status, row.message = "updating", f"deploying {digest[:19]}"
            await self.repo.save(row)
        ok, message = await self._deploy(name, stack, pins)
        for w, row, digest in updates:
            where = f"{w.stack}/{w.service}"
            labels = {"environment": w.environment, "stack": w.stack, "service": w.service,
                      "image": w.image}  # fmt: skip
            if ok:
                row.running_digest, row.status = digest, "current"
                row.message, row.notified_digest = f"updated to {digest[:19]}", None
                result.updated.append(where)
                await self.report_event(
                    IMAGE_UPDATE_AVAILABLE, labels, f"{w.image} updated", resolved=True
                )
            elif ok is None:  # not started (a deploy runs, the node is away): next round
                row.status, row.message = "available", message
            else:
                row.failed_digests = [*(row.failed_digests or []), digest][-20:]
                row.status, row.message = "failed", f"update to {digest[:19]} failed: {message}"
                result.failed.append(where)
                await self.report_event(
                    IMAGE_UPDATE_FAILED, labels,
                    f"automatic update of {where} to {digest} failed: {message}",
                )  # fmt: skip
            await self.repo.save(row)

    async def _deploy(
        self, name: str, stack: _Stack, pins: dict[str, str]
    ) -> tuple[bool | None, str]:
        """(ok — None: not started —, message) of one automatic deploy."""
        lock = self.stacks.lock(name)
        if lock.locked():
            return None, "a deploy of the stack runs: tried again next round"
        await lock.acquire()
        try:
            run = await self.stacks.prepare(
                name, ACTOR, stack.proposal, Strategy(stack.row.strategy), pinned=pins,
                admin=True,
            )  # fmt: skip
        except FleetdeckError as exc:
            lock.release()
            await self.audit.record(ACTOR, "updates.deploy", name, f"error: {exc.message}", pins)
            return None, f"not deployed: {exc.message}"
        except BaseException:
            lock.release()
            raise

        async def release(_: Any) -> None:
            lock.release()

        run.after = release
        outcome: dict[str, Any] = {}
        async for item in run.start():
            if item.get("type") == "result":
                outcome = item
        ok, message = bool(outcome.get("ok")), str(outcome.get("message", ""))
        detail = {"images": pins, "revision": run.target.revision}
        await self.audit.record(ACTOR, "updates.deploy", name,
                                "ok" if ok else f"error: {message}", detail)  # fmt: skip
        return ok, message
