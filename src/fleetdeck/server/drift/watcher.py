"""The drift reconciler: each managed stack's live state against its deployed revision.

Woken by the fleet hub's ``InventoryChanged`` (a container removed, added or changed by hand
shows there first) and ``DeployFinished``, with a sweep every :data:`SWEEP_INTERVAL_S`
seconds as the backstop (a Swarm service spec changed by hand is no container event until its
tasks are replaced). A plain host stack is judged from the in-memory inventory alone; a Swarm
stack costs one call to a manager (its services) per look.

States (``state`` of a report): ``in_sync``, ``drifted``, ``stopped`` (every container of
the stack exists and none runs: a user stopped it), ``suspended`` (a user suspended drift
handling), ``deploying``, ``unknown`` (the environment is not reachable), ``error`` (the
revision could not be loaded).

Per stack policy (API layer over ``x-fleetdeck: {drift: …}`` over the default ``notify``):
``notify`` raises the event alert ``stack_drift`` once per drift and resolves it when the
drift ends; ``revert`` also redeploys the desired revision through the stack service's own
deploy (lock, revision, audit ``stack.drift.revert`` by ``system``), at most once per
backoff step (:data:`REVERT_BACKOFF_S` doubling to :data:`REVERT_BACKOFF_MAX_S`). A stopped
or suspended stack is never reverted. Idempotent: the alert and backoff are stored, so a
restarted server neither alerts twice nor reverts early. Leader gate: single replica.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import FleetdeckError
from fleetdeck.labels import stack_of
from fleetdeck.server.alerts.rules import STACK_DRIFT
from fleetdeck.server.drift.desired import DesiredCache, DesiredStack, describe
from fleetdeck.server.drift.detect import ServiceDrift, host_drift, swarm_drift
from fleetdeck.server.fleet.hub import DeployFinished, InventoryChanged
from fleetdeck.server.fleet.inventory import NodeStatus
from fleetdeck.server.fleet.service import manager_of
from fleetdeck.server.loops import BackgroundLoop
from fleetdeck.server.stacks.plan import TargetKind

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from fleetdeck.clock import Clock
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.drift.repository import DriftRepository
    from fleetdeck.server.fleet.hub import Subscription
    from fleetdeck.server.loops import LeaderGate
    from fleetdeck.server.stacks.deploy import DeployRun
    from fleetdeck.server.stacks.plan import DeployOutcome
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store.models_drift import StackDriftState
    from fleetdeck.server.store.models_stacks import StackDefinition
    from fleetdeck.wire.containers import EngineContainer

    ReportEvent = Callable[..., Awaitable[None]]

log = logging.getLogger("fleetdeck.server.drift")
SWEEP_INTERVAL_S = 30.0
#: Events in a burst (a deploy replacing containers) make one look.
MIN_GAP_S = 1.0
REVERT_BACKOFF_S = 30.0
REVERT_BACKOFF_MAX_S = 1800.0
ALERT_KIND = STACK_DRIFT
DEFAULT_POLICY = "notify"


@dataclass
class DriftReport:
    """One stack's drift as last seen (``GET /stacks/{name}/drift``)."""

    stack: str
    environment: str
    kind: str
    state: str
    policy: str = DEFAULT_POLICY
    policy_source: str = "default"
    revision: int | None = None
    services: list[ServiceDrift] = field(default_factory=list)
    desired: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    checked_at: datetime | None = None
    suspended: bool = False
    reverts: int = 0
    next_revert_at: datetime | None = None

    @property
    def drifted(self) -> bool:
        """Whether any service differs from the desired revision."""
        return any(s.differences for s in self.services)

    def summary(self) -> str:
        """The services that drifted and how, in one line."""
        parts = [
            f"{s.service}: {'; '.join(d.message for d in s.differences)}"
            for s in self.services
            if s.differences
        ]
        return " | ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The report as the API answers it."""
        return {
            "stack": self.stack, "environment": self.environment, "kind": self.kind,
            "state": self.state, "drifted": self.drifted, "policy": self.policy,
            "policy_source": self.policy_source, "suspended": self.suspended,
            "revision": self.revision, "message": self.message,
            "services": [s.to_json() for s in self.services], "desired": self.desired,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "reverts": self.reverts,
            "next_revert_at": self.next_revert_at.isoformat() if self.next_revert_at else None,
        }  # fmt: skip


def effective_policy(
    state: StackDriftState | None, desired: DesiredStack | None
) -> tuple[str, str]:
    """(policy, where it comes from): the API's, the Compose files', else the default."""
    if state is not None and state.policy:
        return state.policy, "api"
    if desired is not None and desired.compose_policy:
        return desired.compose_policy, "compose"
    return DEFAULT_POLICY, "default"


def backoff_s(reverts: int) -> float:
    """Seconds before the next revert after ``reverts`` tries in a row."""
    return float(min(REVERT_BACKOFF_S * 2.0 ** max(reverts - 1, 0), REVERT_BACKOFF_MAX_S))


class DriftWatcher:
    """Looks at every managed stack, reports drift and reverts it where the policy says so."""

    def __init__(
        self,
        stacks: StackService,
        repo: DriftRepository,
        audit: AuditLog,
        report_event: ReportEvent,
        clock: Clock,
        gate: LeaderGate | None = None,
    ) -> None:
        self.stacks = stacks
        self.fleet = stacks.fleet
        self.repo = repo
        self.audit = audit
        self.report_event = report_event
        self.clock = clock
        self.desired = DesiredCache(stacks)
        self.reports: dict[str, DriftReport] = {}
        self.loop = BackgroundLoop(
            "drift", step=self.step, interval=SWEEP_INTERVAL_S, min_gap=MIN_GAP_S, gate=gate,
            clock=clock,
        )  # fmt: skip
        self._subscriptions: list[Subscription[Any]] = []
        #: Stacks whose deploy ended well since their last look (Swarm baselines move).
        self._deployed: set[str] = set()
        #: Swarm stacks: their task containers (id, state) and when the manager was last asked.
        self._swarm_seen: dict[str, tuple[frozenset[tuple[str, str]], datetime]] = {}
        #: One look at a time (the loop's step, an API request's fresh look).
        self.lock = asyncio.Lock()
        #: Called after every step (tests wait on it).
        self.stepped = asyncio.Event()

    def start(self) -> None:
        """Follow the fleet's hub and start the loop."""
        hub = self.fleet.hub
        self._subscriptions = [
            hub.subscribe(InventoryChanged, lambda _: self.loop.wake()),
            hub.subscribe(DeployFinished, self._on_deploy),
        ]
        self.loop.start()

    async def stop(self) -> None:
        """Stop following the hub and the loop (reverts in flight are stack deploys)."""
        for subscription in self._subscriptions:
            self.fleet.hub.unsubscribe(subscription)
        self._subscriptions = []
        await self.loop.stop()

    def _on_deploy(self, event: DeployFinished) -> None:
        if event.ok:
            self._deployed.add(event.stack)
        self.loop.wake()
        # The stack's lock is released just after the deploy reports: look again then.
        asyncio.get_running_loop().call_later(2.0, self.loop.wake)

    # ------------------------------------------------------------------ the step
    async def step(self) -> None:
        """Look at every deployed stack once."""
        async with self.lock:
            states = await self.repo.all()
            seen: set[str] = set()
            for stored in await self.stacks.repo.all():
                if not stored.files or stored.revision is None:
                    continue
                seen.add(stored.name)
                state = states.get(stored.name)
                report = await self.evaluate(stored, state)
                self.reports[stored.name] = report
                await self._act(stored, report, state)
            for gone in set(self.reports) - seen:
                self.reports.pop(gone, None)
                self._swarm_seen.pop(gone, None)
                self.desired.forget(gone)
            for gone in set(states) - seen:
                await self.repo.delete(gone)
        self.stepped.set()
        self.stepped.clear()

    async def evaluate(
        self, stored: StackDefinition, state: StackDriftState | None, *, force: bool = False
    ) -> DriftReport:
        """The stack's drift now (stores new Swarm baselines).

        ``force``: ask a Swarm's manager even when none of the stack's tasks changed since the
        last look (an API request does; the loop asks again at least every sweep).
        """
        report = DriftReport(
            stored.name, stored.environment, stored.kind, "unknown", revision=stored.revision,
            checked_at=self.clock.now(), suspended=bool(state and state.suspended),
            reverts=state.reverts if state else 0,
            next_revert_at=state.next_revert_at if state else None,
        )  # fmt: skip
        previous = self.reports.get(stored.name)
        if self.stacks.deploying(stored.name) or stored.status == "deploying":
            report.state, report.message = "deploying", "a deploy runs: looked at when it ends"
            if previous is not None:
                report.services, report.desired = previous.services, previous.desired
                report.policy, report.policy_source = previous.policy, previous.policy_source
            return report
        try:
            desired = await self.desired.of(stored)
        except FleetdeckError as exc:
            report.state, report.message = "error", f"the deployed revision: {exc.message}"
            return report
        report.policy, report.policy_source = effective_policy(state, desired)
        report.desired = describe(desired)
        nodes = self.fleet.inventory.nodes(stored.environment)
        containers = [
            c for n in nodes for c in n.containers.values() if stack_of(c.labels) == stored.name
        ]  # fmt: skip
        try:
            if desired.kind is TargetKind.host:
                if not nodes or any(n.status is not NodeStatus.up for n in nodes):
                    report.message = "the environment is not reachable (every node must be up)"
                    return report
                report.services = host_drift(desired, containers)
                if containers and not any(c.state == "running" for c in containers):
                    report.state = "stopped"
            else:
                report.services = await self._swarm_look(
                    stored, state, desired, containers, force=force
                )
        except FleetdeckError as exc:
            report.message = f"could not look: {exc.message}"
            return report
        if report.state != "stopped":
            report.state = "drifted" if report.drifted else "in_sync"
        if report.suspended:
            report.state = "suspended"
        report.message = report.summary() or report.message
        return report

    async def _swarm_look(
        self,
        stored: StackDefinition,
        state: StackDriftState | None,
        desired: DesiredStack,
        containers: list[EngineContainer],
        *,
        force: bool,
    ) -> list[ServiceDrift]:
        """A Swarm stack's services against their baselines: one call to a manager.

        Skipped (the last look's answer kept) while the stack's task containers are the same
        as then, no deploy ended and the last call is younger than a sweep: a hand-made spec
        change replaces tasks, so it shows in the inventory first.
        """
        name, now = stored.name, self.clock.now()
        signature = frozenset((c.id, c.state) for c in containers)
        deployed = name in self._deployed
        previous, seen = self.reports.get(name), self._swarm_seen.get(name)
        if (
            not force and not deployed and previous is not None and previous.services
            and previous.revision == stored.revision and seen is not None
            and seen[0] == signature and (now - seen[1]).total_seconds() < SWEEP_INTERVAL_S
        ):  # fmt: skip
            return previous.services
        snapshot = await manager_of(self.fleet, stored.environment).agent.swarm_stack(name)
        baselines = dict(state.baselines) if state else {}
        services, kept = swarm_drift(desired, snapshot["services"], baselines, deployed=deployed)
        self._deployed.discard(name)
        self._swarm_seen[name] = (signature, now)
        if kept != baselines:
            await self.repo.update(name, baselines=kept)
        return services

    # ------------------------------------------------------------------ acting
    async def _act(
        self, stored: StackDefinition, report: DriftReport, state: StackDriftState | None
    ) -> None:
        labels = {"environment": stored.environment, "stack": stored.name}
        alerted = bool(state and state.alerted)
        if report.state == "drifted":
            if not alerted:
                text = f"stack {stored.name} drifted from revision {stored.revision}: "
                await self.report_event(ALERT_KIND, labels, text + report.summary(), "warning")
                state = await self.repo.update(stored.name, alerted=True)
            if report.policy == "revert":
                await self._maybe_revert(stored, report, state)
            return
        if report.state in ("in_sync", "stopped", "suspended"):
            if alerted:
                text = f"stack {stored.name}: no drift any more ({report.state})"
                await self.report_event(ALERT_KIND, labels, text, resolved=True)
            if alerted or (state is not None and state.reverts):
                await self.repo.update(stored.name, alerted=False, reverts=0, next_revert_at=None)
                report.reverts, report.next_revert_at = 0, None

    async def _maybe_revert(
        self, stored: StackDefinition, report: DriftReport, state: StackDriftState | None
    ) -> None:
        now = self.clock.now()
        due = state.next_revert_at if state else None
        if due is not None and due > now:
            return
        lock = self.stacks.lock(stored.name)
        if lock.locked():
            return
        reverts = (state.reverts if state else 0) + 1
        next_at = now + timedelta(seconds=backoff_s(reverts))
        await self.repo.update(stored.name, reverts=reverts, next_revert_at=next_at)
        report.reverts, report.next_revert_at = reverts, next_at
        await lock.acquire()
        try:
            run = await self.stacks.prepare_rollback(
                stored.name, "system", stored.revision, admin=True
            )
        except FleetdeckError as exc:
            lock.release()
            await self.repo.update(stored.name, last_error=exc.message)
            await self._audit(stored.name, f"error: {exc.message}", report)
            return
        except BaseException:
            lock.release()
            raise
        drifted = tuple(s.service for s in report.services if s.differences)
        run.target = dataclasses.replace(run.target, redeploy=drifted)
        self._start(run, stored.name, report)

    def _start(self, run: DeployRun, name: str, report: DriftReport) -> None:
        lock = self.stacks.lock(name)

        async def after(outcome: DeployOutcome) -> None:
            try:
                result = "ok" if outcome.ok else f"error: {outcome.message}"
                await self._audit(name, result, report)
            finally:
                lock.release()
                self.loop.wake()

        run.after = after
        run.start()  # the deploy runs in its own task; nobody needs to read its stream

    async def _audit(self, name: str, result: str, report: DriftReport) -> None:
        detail = {"revision": report.revision, "drift": report.summary()[:2000]}
        try:
            await self.audit.record("system", "stack.drift.revert", name, result, detail)
        except Exception:  # the audit must not break the reconciler
            log.exception("could not audit the drift revert of %s", name)

    async def undeployed(
        self, stored: StackDefinition, state: StackDriftState | None
    ) -> DriftReport:
        """The report of a stack with no deployed revision (nothing to drift from)."""
        report = DriftReport(
            stored.name, stored.environment, stored.kind, "unknown", checked_at=self.clock.now(),
            message="not deployed: no revision to compare with",
        )  # fmt: skip
        report.policy, report.policy_source = effective_policy(state, None)
        return report

    # ------------------------------------------------------------------ reading
    def report(self, name: str) -> DriftReport | None:
        """The stack's last report, or None before its first look."""
        return self.reports.get(name)
