"""The alert evaluator: a reconciler that turns the fleet's state into alerts and the outbox.

Each pass (every :data:`~AlertEvaluator` ``interval_s`` at most, and soon after any inventory
change or new metrics batch, but not more often than every :data:`MIN_GAP_S` seconds):

1. takes a :class:`~fleetdeck.server.alerts.conditions.FleetView` of the inventory and the
   latest figures;
2. in one transaction: moves every rule's alerts through the state machine
   (:mod:`~fleetdeck.server.alerts.state`), works out what is held back by silences and
   maintenance windows, decides per alert what is due (firing, repeat, resolved), groups
   those by (rule, environment, event) and writes one ``pending`` delivery per group and
   channel;
3. wakes the delivery worker.

Every step derives what to do from stored state, so a crash at any point converges: the
next pass recomputes the same decisions from what was committed. The passes are a supervised
:class:`~fleetdeck.server.loops.BackgroundLoop` (``alert-evaluator``, woken by
``alert-inventory-watch``). Leader gate: only the leader evaluates. fleetdeck runs one server
replica today, so :class:`~fleetdeck.server.loops.AlwaysLeader` is the default; a replicated
store would pass a gate backed by a database lease instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select

from fleetdeck.clock import SYSTEM
from fleetdeck.server.alerts.conditions import Candidate, FleetView, candidates
from fleetdeck.server.alerts.messages import group_message
from fleetdeck.server.alerts.resolutions import resolution
from fleetdeck.server.alerts.rules import EVENT_CONDITIONS, SEVERITIES
from fleetdeck.server.alerts.silences import suppression
from fleetdeck.server.alerts.state import (
    AlertState,
    Event,
    Notified,
    advance,
    mark_notified,
    notification_due,
)
from fleetdeck.server.loops import AlwaysLeader, BackgroundLoop, Backoff
from fleetdeck.server.store.models_alerts import (
    Alert,
    AlertDelivery,
    AlertRule,
    AlertSilence,
    MaintenanceWindow,
    NotificationChannel,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession

    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.delivery import DeliveryWorker
    from fleetdeck.server.alerts.figures import LatestFigures, RestartHistory
    from fleetdeck.server.fleet.inventory import FleetInventory
    from fleetdeck.server.loops import LeaderGate
    from fleetdeck.server.store import Store

log = logging.getLogger(__name__)

#: Least time between two passes (bursts of inventory changes make one pass, not many).
MIN_GAP_S = 2.0
#: Passes between two prunings of old resolved alerts and delivery history.
PRUNE_EVERY = 240


#: The gate of one server replica (its old name here).
SingleReplicaGate = AlwaysLeader


@dataclass(frozen=True)
class EvaluatorConfig:
    """The evaluator's timing."""

    interval_s: float = 15.0
    repeat_s: float = 4 * 3600.0
    history_s: float = 7 * 86400.0


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


class AlertEvaluator:
    """Evaluates every rule against the fleet and writes alerts and deliveries."""

    def __init__(
        self,
        store: Store,
        inventory: FleetInventory | None,
        env_tags: Callable[[], dict[str, list[str]]],
        figures: LatestFigures,
        restarts: RestartHistory,
        worker: DeliveryWorker,
        config: EvaluatorConfig,
        gate: LeaderGate | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self.store = store
        self.clock = clock
        self.inventory = inventory
        self.env_tags = env_tags
        self.figures = figures
        self.restarts = restarts
        self.worker = worker
        self.config = config
        self.gate: LeaderGate = gate or AlwaysLeader()
        self.passes = 0
        self._version = inventory.version if inventory is not None else 0
        self.loop = BackgroundLoop(
            "alert-evaluator", step=self._pass, interval=config.interval_s, min_gap=MIN_GAP_S,
            backoff=Backoff(MIN_GAP_S, max(MIN_GAP_S, config.interval_s)), gate=self.gate,
            clock=clock,
        )  # fmt: skip
        #: The evaluation loop and, with an inventory, the watcher that wakes it.
        self.loops = [self.loop]
        if inventory is not None:
            watch = BackgroundLoop("alert-inventory-watch", step=self._watch, clock=clock)
            self.loops.append(watch)

    def start(self) -> None:
        """Start the evaluation loop (and the inventory watcher that wakes it)."""
        if self.inventory is not None:
            self._version = self.inventory.version
        for loop in self.loops:
            loop.start()

    async def stop(self) -> None:
        """Stop the loops (a pass cut short rolls back; the next start redoes it)."""
        await asyncio.gather(*(loop.stop() for loop in self.loops))

    def wake(self) -> None:
        """Something changed: evaluate soon."""
        self.loop.wake()

    async def _watch(self) -> None:
        """One step of the watcher: wake the evaluator once the inventory changed."""
        if self.inventory is None:
            return
        changed = await self.inventory.wait_changed(self._version, 30.0)
        if changed != self._version:
            self._version = changed
            self.wake()

    async def _pass(self) -> None:
        """One step of the loop (the loop asks the leader gate before it)."""
        await self.evaluate()

    def view(self, now: float) -> FleetView:
        """The fleet as conditions see it now (restart history updated on the way)."""
        if self.inventory is None:
            return FleetView([], {}, self.figures, self.restarts, now)
        nodes = self.inventory.nodes()
        tags = self.env_tags()
        seen = set()
        for state in nodes:
            for c in state.containers.values():
                self.restarts.observe(c.id, c.restart_count, now)
                seen.add(c.id)
        self.restarts.keep_only(seen)
        return FleetView(nodes, tags, self.figures, self.restarts, now)

    async def evaluate(self, now: datetime | None = None) -> int:
        """One pass; returns how many deliveries it queued."""
        now = now or self.clock.now()
        view = self.view(now.timestamp())
        unknown = {(s.environment, s.node) for s in view.nodes if s.status.value == "pending"}
        async with self.store.transaction() as session:
            rules = list((await session.scalars(select(AlertRule))).all())
            alerts = list(
                (
                    await session.scalars(
                        select(Alert).where(
                            or_(
                                Alert.state != AlertState.resolved,
                                Alert.notified == Notified.firing,
                            )
                        )
                    )
                ).all()
            )
            live, dropped = self._transition(session, rules, alerts, view, unknown, now)
            for alert in dropped:
                await session.delete(alert)
            queued = await self._notify(session, rules, live, now)
        if queued:
            self.worker.wake()
        self.passes += 1
        if self.passes % PRUNE_EVERY == 1:
            await self.prune(now)
        return queued

    def _transition(
        self,
        session: AsyncSession,
        rules: list[AlertRule],
        alerts: list[Alert],
        view: FleetView,
        unknown: set[tuple[str, str]],
        now: datetime,
    ) -> tuple[list[Alert], list[Alert]]:
        """Advance every open alert and open new ones: (alerts of interest, alerts to delete)."""
        by_rule: dict[str, dict[str, Alert]] = defaultdict(dict)
        for alert in alerts:
            if alert.state != AlertState.resolved:
                by_rule[alert.rule][alert.fingerprint] = alert
        live = [a for a in alerts if a.state == AlertState.resolved]
        dropped: list[Alert] = []
        known = {r.name for r in rules}
        unknown_figures = unknown | {
            (s.environment, s.node)
            for s in view.nodes
            if not view.figures.known(s.environment, s.node)
        }
        for rule in rules:
            # Nodes not heard from since our start: their alerts are left as they are.
            blind = unknown_figures if rule.condition == "metric" else unknown
            kept, gone = self._advance_rule(
                session, rule, by_rule.get(rule.name, {}), view, blind, now
            )
            live.extend(kept)
            dropped.extend(gone)
        for name, open_ in by_rule.items():
            if name not in known:  # the rule was deleted: its alerts resolve
                for alert in open_.values():
                    if alert.state == AlertState.firing:
                        alert.summary = f"rule {name} was deleted; last: {alert.summary}"
                    (live if advance(alert, None, 0.0, now) else dropped).append(alert)
        return live, dropped

    def _advance_rule(
        self,
        session: AsyncSession,
        rule: AlertRule,
        open_: dict[str, Alert],
        view: FleetView,
        blind: set[tuple[str, str]],
        now: datetime,
    ) -> tuple[list[Alert], list[Alert]]:
        """One rule's open alerts moved on, new ones opened: (kept, to delete)."""
        if rule.enabled and rule.condition in EVENT_CONDITIONS:
            return list(open_.values()), []  # raised and resolved by report_event
        found = {c.fingerprint: c for c in candidates(rule, view)} if rule.enabled else {}
        for fp, candidate in found.items():
            if fp not in open_:
                open_[fp] = self._new_alert(session, rule, candidate, now)
        kept, gone = [], []
        for fp, alert in open_.items():
            where = ((alert.labels or {}).get("environment"), (alert.labels or {}).get("node"))
            if fp not in found and rule.enabled and where in blind:
                kept.append(alert)
                continue
            if fp not in found and alert.state == AlertState.firing:
                alert.summary = resolution(rule, alert, view)  # what it resolves with
            if advance(alert, found.get(fp), rule.for_s, now):
                kept.append(alert)
            else:
                gone.append(alert)
        return kept, gone

    @staticmethod
    def _new_alert(session: AsyncSession, rule: AlertRule, c: Candidate, now: datetime) -> Alert:
        alert = Alert(
            fingerprint=c.fingerprint,
            rule=rule.name,
            severity=rule.severity,
            state=AlertState.pending,
            labels=c.labels,
            summary=c.summary,
            value=c.value,
            started_at=now,
            notified=Notified.none,
        )
        session.add(alert)
        return alert

    async def _notify(
        self, session: AsyncSession, rules: list[AlertRule], alerts: list[Alert], now: datetime
    ) -> int:
        silences = list(
            (await session.scalars(select(AlertSilence).where(AlertSilence.ends_at > now))).all()
        )
        windows = list(
            (
                await session.scalars(
                    select(MaintenanceWindow).where(MaintenanceWindow.ends_at > now)
                )
            ).all()
        )
        by_name = {r.name: r for r in rules}
        groups: dict[tuple[str, str, Event], list[Alert]] = defaultdict(list)
        for alert in alerts:
            alert.suppressed = suppression(alert, silences, windows, now)
            rule = by_name.get(alert.rule)
            repeat = (rule.repeat_s if rule and rule.repeat_s else None) or self.config.repeat_s
            event = notification_due(alert, repeat, now)
            mark_notified(alert, event, now)
            if event is not None:
                environment = str((alert.labels or {}).get("environment", ""))
                groups[(alert.rule, environment, event)].append(alert)
        if not groups:
            return 0
        channels = list(
            (
                await session.scalars(
                    select(NotificationChannel).where(NotificationChannel.enabled.is_(True))
                )
            ).all()
        )
        queued = 0
        for (rule_name, environment, event), group in groups.items():
            rule = by_name.get(rule_name)
            wanted = set(rule.channels or []) if rule else set()
            severity = group[0].severity
            await session.flush()  # new alerts get their ids for the message
            title, body = group_message(event, rule_name, environment, group)
            for channel in channels:
                if wanted and channel.name not in wanted:
                    continue
                if _rank(severity) < _rank(channel.min_severity):
                    continue
                session.add(
                    AlertDelivery(
                        channel=channel.name,
                        event=event.value,
                        rule=rule_name,
                        alert_ids=[a.id for a in group],
                        title=title,
                        body=body,
                        severity=severity,
                        status="pending",
                        next_attempt_at=now,
                    )
                )
                queued += 1
        return queued

    async def prune(self, now: datetime | None = None) -> None:
        """Delete resolved alerts and finished deliveries older than the history setting."""
        cutoff = (now or self.clock.now()) - timedelta(seconds=self.config.history_s)
        try:
            async with self.store.transaction() as session:
                await session.execute(
                    delete(Alert).where(
                        Alert.state == AlertState.resolved,
                        Alert.notified != Notified.firing,
                        Alert.resolved_at < cutoff,
                    )
                )
                await session.execute(
                    delete(AlertDelivery).where(
                        AlertDelivery.status != "pending", AlertDelivery.created_at < cutoff
                    )
                )
        except Exception:
            log.exception("alert history pruning failed")
