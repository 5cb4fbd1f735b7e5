"""The autoscaler: a reconciler that brings each policy's service to what its metrics ask.

Every sync (15 s), per policy, it brings the service to the replica count its metrics call for.

Per policy and sync: observe the service (:mod:`.observe`), evaluate its targets (CPU and
memory from the server's newest metrics, a PromQL expression through Prometheus), decide as
HPA does (:mod:`.algorithm`), and, unless the policy only recommends, scale it: a stack
service through :class:`~fleetdeck.server.stacks.scaler.StackScaler` (health-gated start,
drained stop, the count kept over deploys), a Swarm service through its manager. A scale
runs in its own task; the policy is not synced again until it ended, so a slow health gate
never makes two scales of one service.

A decision is recorded when it changes (or would change) the replicas, or when its reason
differs from the last one recorded for the policy, so a steady service does not write a
row every 15 s. Every scale it makes is in the audit log as the ``autoscaler``'s.

A policy whose Prometheus query cannot be read (no Prometheus, unreachable, a bad answer)
keeps its replicas, and the ``autoscale-metric-unavailable`` alert fires once for it; it
resolves at the first good reading. A policy in an unknown state (just after start) resolves
once on its first good reading, so an alert left firing by an earlier process ends too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fleetdeck.errors import FleetdeckError
from fleetdeck.server.alerts.rules import AUTOSCALE_METRIC_UNAVAILABLE
from fleetdeck.server.autoscale import prometheus
from fleetdeck.server.autoscale.algorithm import Decision, History, MetricReading, decide
from fleetdeck.server.autoscale.observe import observe
from fleetdeck.server.loops import BackgroundLoop, Backoff

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.autoscale.observe import Observation
    from fleetdeck.server.autoscale.policy import Policy
    from fleetdeck.server.autoscale.repository import AutoscaleRepository
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.metrics.latest import LatestSamples
    from fleetdeck.server.stacks.service import StackService

log = logging.getLogger("fleetdeck.server.autoscale")
ACTOR = "autoscaler"

#: ``report_event(kind, labels, message, severity, resolved=...)`` of the alerts part.
ReportEvent = Callable[..., Awaitable[None]]


class Autoscaler:
    """Syncs every policy (``ServerContext.autoscaler``)."""

    def __init__(
        self,
        repo: AutoscaleRepository,
        stacks: StackService,
        fleet: Fleet,
        latest: LatestSamples,
        audit: AuditLog | None,
        clock: Clock,
        *,
        sync_s: float,
        prometheus_url: str | None,
        report_event: ReportEvent | None = None,
    ) -> None:
        self.repo = repo
        self.stacks = stacks
        self.fleet = fleet
        self.latest = latest
        self.audit = audit
        self.clock = clock
        self.prometheus_url = prometheus_url
        self.report_event = report_event
        #: policy target → the Prometheus problem alerted ("" none); absent: not known yet.
        self._metric_problem: dict[str, str] = {}
        self.histories: dict[str, History] = {}
        self._last_reason: dict[str, str] = {}
        self._scaling: dict[str, asyncio.Task[None]] = {}
        self.loop = BackgroundLoop(
            "autoscaler", step=self.sync, interval=sync_s, backoff=Backoff(sync_s, 300.0),
            clock=clock,
        )  # fmt: skip

    def forget(self, target: str) -> None:
        """A policy was removed or replaced: its history starts over."""
        self.histories.pop(target, None)
        self._last_reason.pop(target, None)
        self._metric_problem.pop(target, None)

    async def sync(self) -> None:
        """One sync of every policy (a policy's fault is logged, never stops the others)."""
        for policy in await self.repo.policies():
            running = self._scaling.get(policy.target)
            if running is not None and not running.done():
                continue
            try:
                await self.sync_one(policy)
            except FleetdeckError as exc:
                log.warning("autoscaling %s: %s", policy.ref, exc.message)

    async def _readings(self, policy: Policy, obs: Observation) -> tuple[list[MetricReading], str]:
        readings: list[MetricReading] = []
        note = ""
        for name in ("cpu", "memory"):
            target = getattr(policy, name)
            if target is not None:
                values = tuple(obs.values.get(name, []))
                readings.append(MetricReading(name, target, values, obs.missing.get(name, 0)))
        if policy.prometheus_query is not None and policy.prometheus_target is not None:
            external: tuple[float, ...] = ()
            if self.prometheus_url is None:
                note = "no Prometheus configured"
            else:
                try:
                    total = await prometheus.query(self.prometheus_url, policy.prometheus_query)
                except prometheus.PrometheusError as exc:
                    note = str(exc)
                else:
                    # A total over the service: per ready replica, so that
                    # ceil(ready × mean / target) = ceil(total / target).
                    external = (total / max(obs.ready, 1),)
            readings.append(MetricReading("prometheus", policy.prometheus_target, external))
        return readings, note

    async def sync_one(self, policy: Policy) -> Decision:
        """Observe, decide, scale (unless recommend-only) and record one policy."""
        now = self.clock.time()
        obs = await observe(policy, self.stacks, self.fleet, self.latest, now)
        history = self.histories.setdefault(policy.target, History())
        if obs.blocked is not None:
            decision = Decision(obs.current, obs.current, f"{obs.blocked}: no change", {})
        else:
            readings, note = await self._readings(policy, obs)
            if policy.prometheus_query is not None:
                await self._alert_metric(policy, obs, note)
            decision = decide(
                now, obs.current, obs.ready, readings, minimum=policy.minimum,
                maximum=policy.maximum, behaviour=policy.behaviour, history=history,
            )  # fmt: skip
            if note:
                reason = f"{decision.reason} (prometheus: {note})"
                decision = Decision(decision.current, decision.desired, reason, decision.metrics)
        applied = False
        if decision.changes:
            if policy.recommend_only:
                decision = Decision(decision.current, decision.desired,
                                    f"{decision.reason}; recommend-only: not applied",
                                    decision.metrics)  # fmt: skip
            else:
                applied = True
                task = asyncio.create_task(self._scale(policy, obs, decision))
                self._scaling[policy.target] = task
        if decision.changes or self._last_reason.get(policy.target) != decision.reason:
            self._last_reason[policy.target] = decision.reason
            await self.repo.record(policy.target, decision, applied, self.clock.now())
        return decision

    async def _alert_metric(self, policy: Policy, obs: Observation, problem: str) -> None:
        """Fire (once) or resolve the policy's metric-unavailable alert as its reading went."""
        before = self._metric_problem.get(policy.target)
        self._metric_problem[policy.target] = problem
        if self.report_event is None or (before is not None and bool(before) == bool(problem)):
            return
        labels = {"service": policy.ref, "policy": policy.target}
        if obs.environment:
            labels["environment"] = obs.environment
        if policy.kind == "stack":
            labels["stack"] = policy.scope
        if problem:
            message = (
                f"autoscaling {policy.ref}: its Prometheus query cannot be read ({problem}); "
                f"replicas kept at {obs.current}"
            )
            await self.report_event(AUTOSCALE_METRIC_UNAVAILABLE, labels, message, "warning")
        else:
            message = f"autoscaling {policy.ref}: its Prometheus query is read again"
            await self.report_event(
                AUTOSCALE_METRIC_UNAVAILABLE, labels, message, "warning", resolved=True
            )

    async def _scale(self, policy: Policy, obs: Observation, decision: Decision) -> None:
        """Apply one decision; its outcome goes to the audit log."""
        detail = {"from": decision.current, "to": decision.desired, "reason": decision.reason}
        result = "ok"
        try:
            if policy.kind == "stack":
                scaler = self.stacks.scaler
                if scaler is None:  # pragma: no cover - the server always makes one
                    return
                await scaler.scale(policy.scope, policy.service, decision.desired, ACTOR)
            else:
                from fleetdeck.server.fleet.service import manager_of

                link = manager_of(self.fleet, obs.environment)
                await link.agent.scale_service(obs.swarm_name or policy.service, decision.desired)
        except FleetdeckError as exc:
            result = f"error: {exc.message}"
            log.warning("autoscaling %s to %d: %s", policy.ref, decision.desired, exc.message)
        except Exception:  # a scale's bug must not kill the reconciler
            result = "error: internal error"
            log.exception("autoscaling %s failed", policy.ref)
        if self.audit is not None:
            await self.audit.record(ACTOR, "service.autoscale", policy.ref, result, detail)
