"""The auto-heal reconciler: restarts unhealthy containers on plain hosts, watches Swarm churn.

Driven by the agents' event streams, not by polling engines: Docker's ``health_status``
event makes the agent re-inspect the container and stream an ``upsert`` with its new health;
the fleet inventory applies it and publishes :class:`~fleetdeck.server.fleet.hub.InventoryChanged`,
which wakes this loop. One step looks at the inventory (in memory), decides per container with
:func:`~fleetdeck.server.heal.decide.observe` and carries the verdicts out: a restart
through the node's agent, a crash loop declared (alerted once, through
``AlertService.report_event``), a recovery. A restart that is due later (grace, backoff)
sets a timer that wakes the loop then; a sweep every :data:`SWEEP_INTERVAL_S` seconds is the
net under a lost wake-up.

States: per container ``watching`` → ``waiting`` → (restart) → ``watching`` …, or ``held``
(node not up, deploy in progress, maintenance window) and ``crash_looping`` (until healthy
or reset). Idempotent: the tracks (restarts, streak, crash loop) are stored on every change
and loaded at start, so a server restart neither forgets a crash loop nor restarts a
container twice for one restart's worth of unhealthiness. Leader gate: the loop's gate
(``AlwaysLeader`` for the one server replica of today). Every action is audited
(``heal.restart``, ``heal.crash_loop``, ``heal.recovered``, ``heal.hold``; actor
``autoheal``) with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import FleetdeckError, InvalidInputError
from fleetdeck.labels import SWARM_TASK_ID
from fleetdeck.server.alerts.conditions import container_labels
from fleetdeck.server.audit import OK, failure_text
from fleetdeck.server.fleet.hub import DeployFinished, InventoryChanged
from fleetdeck.server.fleet.inventory import NodeStatus
from fleetdeck.server.heal import decide
from fleetdeck.server.heal.churn import ChurnTracker
from fleetdeck.server.heal.decide import Action, Seen, Track
from fleetdeck.server.heal.policy import HealPolicy, combine, label_layer
from fleetdeck.server.heal.repository import API, COMPOSE, DEFAULT
from fleetdeck.server.loops import BackgroundLoop

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.fleet.hub import Subscription
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.heal.repository import HealRepository
    from fleetdeck.server.loops import LeaderGate
    from fleetdeck.wire.containers import EngineContainer

log = logging.getLogger(__name__)

ACTOR = "autoheal"
#: The safety net: a full look even when no event woke the loop.
SWEEP_INTERVAL_S = 30.0
#: Seconds an agent may take to restart a container beyond its stop timeout.
RESTART_SLACK_S = 30.0
#: Seconds after a deploy ends that the loop looks again (the deploy's hold is over).
DEPLOY_SETTLE_S = 1.0
CRASH_LOOP_KIND = "container_crash_looping"
SERVICE_LOOP_KIND = "service_crash_looping"

#: ``async (kind, labels, message, severity=None, *, resolved=False)``: AlertService.report_event.
ReportEvent = Callable[..., Awaitable[None]]
#: ``async (stack) -> [(file name, text)]``: a stack's Compose files as stored.
ComposeFiles = Callable[[str], Awaitable[list[tuple[str, str]]]]


def container_target(track: Track) -> str:
    """``ENV/NODE/NAME``: how the audit log and alerts name a container."""
    return f"{track.environment}/{track.node}/{track.name}"


class Healer:
    """The auto-heal reconciler of one server.

    Args:
        fleet: Inventory, links and the hub it follows.
        repo: Policy layers and tracks.
        audit: Where every action is recorded.
        report_event: Raises and resolves the crash-loop alerts.
        deploying: Whether a deploy of a stack runs now (``StackService.deploying``).
        maintenance: ``async () -> {environment: reason}`` of the windows in force now.
        clock: The present.
        compose_files: ``async (stack) -> [(file name, text)]`` of a stack's Compose files
            (None: Compose layers are not read).
        gate: The leader gate of the loop.
    """

    def __init__(
        self,
        fleet: Fleet,
        repo: HealRepository,
        audit: AuditLog,
        report_event: ReportEvent,
        deploying: Callable[[str], bool],
        maintenance: Callable[[], Awaitable[dict[str, str]]],
        clock: Clock,
        compose_files: ComposeFiles | None = None,
        gate: LeaderGate | None = None,
    ) -> None:
        self.fleet = fleet
        self.repo = repo
        self.audit = audit
        self.report_event = report_event
        self.deploying = deploying
        self.maintenance = maintenance
        self.clock = clock
        self.compose_files = compose_files
        self.tracks: dict[str, Track] = {}
        #: ``{(target, source): fields}`` of every stored layer.
        self.layers: dict[tuple[str, str], dict[str, Any]] = {}
        self.churn = ChurnTracker(HealPolicy().window, HealPolicy().max_restarts)
        self.loop = BackgroundLoop(
            "autoheal", step=self.step, interval=SWEEP_INTERVAL_S, gate=gate, clock=clock
        )
        self._inflight: dict[str, asyncio.Task[None]] = {}
        #: One step at a time: a step awaits (maintenance windows, the audit) between deciding
        #: and acting, and two interleaved steps (the loop's and a caller's) would each see the
        #: other's half-made decision.
        self._stepping = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._held_audited: dict[str, str] = {}
        self._subscriptions: list[Subscription[Any]] = []
        self._compose_refresh: set[str] = set()
        #: The maintenance windows in force, read once per step when needed.
        self._windows: dict[str, str] | None = None
        #: Called after every step (tests and the bench wait on it).
        self.stepped = asyncio.Event()

    # ------------------------------------------------------------ lifecycle
    async def load(self) -> None:
        """Read the stored layers and tracks (before the loop starts)."""
        await self.reload_layers()
        self.tracks = {t.container_id: t for t in await self.repo.tracks()}

    def start(self) -> None:
        """Follow the fleet's hub and start the loop."""
        hub = self.fleet.hub
        self._subscriptions = [
            hub.subscribe(InventoryChanged, self._on_inventory),
            hub.subscribe(DeployFinished, self._on_deploy),
        ]
        self.loop.start()

    async def stop(self) -> None:
        """Stop following the hub, the loop, the timer and any restart in flight."""
        for subscription in self._subscriptions:
            self.fleet.hub.unsubscribe(subscription)
        self._subscriptions = []
        if self._timer is not None:
            self._timer.cancel()
        await self.loop.stop()
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def settle(self) -> None:
        """Wait for the restarts in flight to end (tests and shutdown use it)."""
        await asyncio.gather(*list(self._inflight.values()), return_exceptions=True)

    def _on_inventory(self, _: InventoryChanged) -> None:
        self.loop.wake()

    def _on_deploy(self, event: DeployFinished) -> None:
        self._compose_refresh.add(event.stack)
        self.loop.wake()
        # The stack's lock is released just after the deploy reports: look again then.
        asyncio.get_running_loop().call_later(DEPLOY_SETTLE_S, self.loop.wake)

    # ------------------------------------------------------------ policies
    async def reload_layers(self) -> None:
        """Read every stored layer again (after the API or a deploy changed one)."""
        self.layers = {(r.target, r.source): dict(r.fields) for r in await self.repo.layers()}
        default = self.default_policy()  # Swarm churn is judged by the default's numbers
        self.churn.window, self.churn.threshold = default.window, default.max_restarts

    def default_policy(self) -> HealPolicy:
        """The fleet-wide default: the built-in one with the API's default layer over it."""
        return combine([self.layers.get((DEFAULT, API), {})])

    def policy_for(self, container: EngineContainer) -> tuple[HealPolicy, list[str]]:
        """The container's policy and the layers it came from, least specific first.

        Raises:
            InvalidInputError: a bad ``fleetdeck.autoheal.*`` label or a combination that
                does not hold (backoff above backoff_max).
        """
        chosen: list[dict[str, Any]] = [self.layers.get((DEFAULT, API), {})]
        sources = ["default"]
        targets = []
        if container.stack:
            targets.append(container.stack)
            if container.service:
                targets.append(f"{container.stack}/{container.service}")
        for target in targets:
            for source in (COMPOSE, API):
                layer = self.layers.get((target, source))
                if layer is not None:
                    chosen.append(layer)
                    sources.append(f"{source}:{target}")
        labels = label_layer(container.labels)
        if labels:
            chosen.append(labels)
            sources.append("label")
        return combine(chosen), sources

    async def _refresh_compose(self, stack: str, files: list[tuple[str, str]] | None) -> None:
        from fleetdeck.server.heal.compose_policy import compose_layers

        try:
            layers = compose_layers(stack, files or [])
        except InvalidInputError as exc:
            # The deploy went through; its policy did not: the old layers stay, and why is
            # on record for the operator.
            await self.audit.record(ACTOR, "heal.policy", stack, failure_text(exc))
            return
        await self.repo.replace_compose(stack, layers)
        await self.reload_layers()
        await self.audit.record(
            ACTOR, "heal.policy", stack, OK, {"source": COMPOSE, "targets": sorted(layers)}
        )

    # ------------------------------------------------------------ the step
    async def step(self) -> None:
        """Look at every container of every node that is up and act on the verdicts."""
        try:
            async with self._stepping:
                await self._step()
        finally:
            self.stepped.set()
            self.stepped = asyncio.Event()

    async def _step(self) -> None:
        while self._compose_refresh and self.compose_files is not None:
            stack = self._compose_refresh.pop()
            await self._refresh_compose(stack, await self.compose_files(stack))
        now = self.clock.time()
        self._windows = None
        seen: set[str] = set()
        looked: set[tuple[str, str]] = set()
        due: list[float] = []
        for state in self.fleet.inventory.nodes():
            if state.status is not NodeStatus.up:
                continue
            looked.add((state.environment, state.node))
            tasks = []
            for container in list(state.containers.values()):
                seen.add(container.id)
                if SWARM_TASK_ID in container.labels:
                    tasks.append(container)
                    continue
                at = await self._look_at(state.environment, state.node, container, now)
                if at is not None:
                    due.append(at)
            for change in self.churn.observe(state.environment, tasks, now):
                await self._report_churn(change.churn, looping=change.crash_looping)
        await self._forget_gone(seen, looked)
        self._arm(min(due, default=None))

    async def _look_at(
        self, environment: str, node: str, container: EngineContainer, now: float
    ) -> float | None:
        """Decide about one container and act; return when a restart is due later, if so."""
        if container.health is None and container.id not in self.tracks:
            return None  # no health check: nothing to heal
        try:
            policy, _ = self.policy_for(container)
        except InvalidInputError as exc:
            log.info("autoheal: %s/%s: %s", environment, container.name, exc.message)
            return None
        track = self.tracks.get(container.id)
        if track is None:
            if not policy.enabled:
                return None
            track = Track(container.id, environment, node, container.name)
            self.tracks[container.id] = track
        track.name = container.name
        candidate = container.health == "unhealthy" and container.state == "running"
        if self._windows is None and candidate and track.crash_looping_since is None:
            self._windows = await self.maintenance()  # once a step, and only when it matters
        held = self._held(container, environment, self._windows or {})
        seen = Seen(container.state, container.health, held)
        verdict = decide.observe(track, policy, seen, now)
        return await self._carry_out(track, container, policy, verdict, now)

    def _held(
        self, container: EngineContainer, environment: str, windows: dict[str, str]
    ) -> str | None:
        if container.id in self._inflight:
            return "a restart is in progress"
        if container.stack and self.deploying(container.stack):
            return f"a deploy of stack {container.stack} is in progress"
        if environment in windows:
            return f"environment {environment} is in a maintenance window ({windows[environment]})"
        return None

    async def _carry_out(
        self, track: Track, container: EngineContainer, policy: HealPolicy,
        verdict: decide.Verdict, now: float,
    ) -> float | None:  # fmt: skip
        """Apply one verdict; return when to look again (a restart due later), if ever."""
        target = container_target(track)
        if verdict.action is not Action.hold:
            self._held_audited.pop(track.container_id, None)
        if verdict.action is Action.wait:
            return verdict.at
        if verdict.action is Action.hold:
            if (
                self._held_audited.get(track.container_id) != verdict.reason
                and track.container_id not in self._inflight
            ):
                self._held_audited[track.container_id] = verdict.reason
                await self.audit.record(ACTOR, "heal.hold", target, OK, {"reason": verdict.reason})
            return None
        if verdict.action is Action.restart:
            self._inflight[track.container_id] = asyncio.create_task(
                self._restart(track, container, policy, verdict.reason),
                name=f"autoheal restart {target}",
            )
            return None
        if verdict.action is Action.crash_loop:
            decide.crash_looped(track, verdict.reason, now)
            await self.repo.save_track(track)
            await self.audit.record(
                ACTOR, "heal.crash_loop", target, OK, {"reason": verdict.reason}
            )
            message = (
                f"{target} is crash-looping: {verdict.reason}; auto-heal stopped restarting it"
            )
            await self.report_event(CRASH_LOOP_KIND, self._labels(track, container), message)
            return None
        if verdict.action is Action.recovered:
            await self.repo.save_track(track)
            await self.audit.record(ACTOR, "heal.recovered", target, OK, {"reason": verdict.reason})
            await self.report_event(
                CRASH_LOOP_KIND, self._labels(track, container), f"{target} is healthy again",
                resolved=True,
            )  # fmt: skip
        return None

    def _labels(self, track: Track, container: EngineContainer) -> dict[str, str]:
        state = self.fleet.inventory.find_node(track.environment, track.node)
        if state is None:
            return {"environment": track.environment, "node": track.node, "container": track.name}
        return container_labels(state, container)

    async def _restart(
        self, track: Track, container: EngineContainer, policy: HealPolicy, reason: str
    ) -> None:
        """Restart through the node's agent, then count, store and audit it.

        The restart stays in flight until it is stored and audited, so :meth:`settle` and
        :meth:`stop` wait for those writes too (a write cut off by shutdown would leave a
        store connection open, and a step would not yet see the counted restart).
        """
        target = container_target(track)
        result = OK
        issued = self.clock.time()
        try:
            try:
                link = self.fleet.links.get(track.environment, track.node)
                await link.agent.container_action(
                    container.id, "restart", t=int(policy.stop_timeout),
                    timeout=policy.stop_timeout + RESTART_SLACK_S,
                )  # fmt: skip
            except FleetdeckError as exc:
                result = failure_text(exc)
                log.info("autoheal: restart of %s failed: %s", target, exc.message)
            decide.restarted(track, issued)
            track.reason = reason
            detail = {
                "reason": reason, "issued_at": datetime.fromtimestamp(issued, UTC).isoformat(),
                "restarts_in_window": len(track.restarts), "streak": track.streak,
            }  # fmt: skip
            await self.repo.save_track(track)
            await self.audit.record(ACTOR, "heal.restart", target, result, detail)
        finally:
            self._inflight.pop(track.container_id, None)
        self.loop.wake()

    async def _report_churn(self, churn: Any, *, looping: bool) -> None:
        labels = {"environment": churn.environment, "service": churn.service}
        if churn.stack:
            labels["stack"] = churn.stack
        target = f"{churn.environment}/{churn.service}"
        if looping:
            reason = (
                f"Swarm replaced {len(churn.replacements)} failing tasks within "
                f"{self.churn.window:g}s"
            )
            await self.audit.record(
                ACTOR, "heal.service_crash_loop", target, OK, {"reason": reason}
            )
            await self.report_event(
                SERVICE_LOOP_KIND, labels, f"{target} is crash-looping: {reason}"
            )
        else:
            await self.audit.record(
                ACTOR,
                "heal.service_recovered",
                target,
                OK,
                {"reason": "a window without a failed task"},
            )
            await self.report_event(
                SERVICE_LOOP_KIND, labels, f"{target}: no failed task for a window", resolved=True
            )

    async def _forget_gone(self, seen: set[str], looked: set[tuple[str, str]]) -> None:
        """Drop the tracks of containers gone from nodes that were looked at."""
        gone = [
            cid for cid, t in self.tracks.items()
            if cid not in seen and (t.environment, t.node) in looked
        ]  # fmt: skip
        for cid in gone:
            del self.tracks[cid]
            self._held_audited.pop(cid, None)
        await self.repo.forget_tracks(gone)

    def _arm(self, at: float | None) -> None:
        """Wake the loop at ``at`` (the earliest restart due), replacing an earlier timer."""
        if at is None or (
            self._timer_at is not None
            and self._timer_at <= at
            and self._timer_at > self.clock.time()
        ):
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, at - self.clock.time())
        self._timer_at = at
        self._timer = asyncio.get_running_loop().call_later(delay + 0.01, self._fire)

    def _fire(self) -> None:
        self._timer, self._timer_at = None, None
        self.loop.wake()

    # ------------------------------------------------------------ people's actions
    async def reset(self, container: EngineContainer, environment: str, node: str) -> Track:
        """A person's reset: forget the crash loop, the streak and the counted restarts."""
        track = self.tracks.get(container.id) or Track(
            container.id, environment, node, container.name
        )
        was_looping = track.crash_looping_since is not None
        decide.reset(track)
        self.tracks[container.id] = track
        await self.repo.save_track(track)
        if was_looping:
            await self.report_event(
                CRASH_LOOP_KIND, self._labels(track, container),
                f"{container_target(track)} was reset by a person", resolved=True,
            )  # fmt: skip
        self.loop.wake()
        return track
