"""``ServerContext.alerts``: the alerting part's interface to the rest of the server.

Other parts raise event-style alerts through :meth:`AlertService.report_event`, e.g. the
stacks part when a deployment fails::

    await ctx.alerts.report_event(
        "stack_deploy_failed",
        {"environment": "prod", "stack": "shop"},
        "deploy of shop failed: image not found",
        severity="critical",
    )
    # later, when a deployment of that stack succeeds:
    await ctx.alerts.report_event(
        "stack_deploy_failed", {"environment": "prod", "stack": "shop"}, "deployed", resolved=True
    )

It is safe to call from anywhere in the server's event loop: it never raises (problems are
logged), returns quickly (one small transaction), and does nothing when no enabled rule of
that kind takes the labels in.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from fleetdeck.server.alerts.conditions import fingerprint, labels_in_scope
from fleetdeck.server.alerts.messages import test_message
from fleetdeck.server.alerts.repository import AlertRepository
from fleetdeck.server.alerts.rules import SEVERITIES
from fleetdeck.server.alerts.service_channels import ChannelService
from fleetdeck.server.alerts.service_rules import RuleService
from fleetdeck.server.alerts.service_silences import SilenceService
from fleetdeck.server.alerts.state import AlertState, Event, Notified
from fleetdeck.server.store.models_alerts import Alert, AlertDelivery, AlertRule

if TYPE_CHECKING:
    from collections.abc import Callable

    from fleetdeck.server.alerts.delivery import DeliveryWorker
    from fleetdeck.server.alerts.evaluator import AlertEvaluator
    from fleetdeck.server.alerts.figures import LatestFigures, RestartHistory
    from fleetdeck.server.fleet.hub import MetricsBatch, Subscription
    from fleetdeck.server.secrets import SecretBox

log = logging.getLogger(__name__)


class AlertService:
    """The evaluator, the delivery worker and the figures they share; the routes' services.

    Args:
        evaluator: The reconciler (its store and clock are the part's).
        worker: The delivery worker.
        secrets: Seals channel URLs (None: channels cannot be added or revealed).
        environments: The fleet's environment names (None: no fleet, nothing to check).
    """

    def __init__(
        self,
        evaluator: AlertEvaluator,
        worker: DeliveryWorker,
        *,
        secrets: SecretBox | None = None,
        environments: Callable[[], set[str]] | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.worker = worker
        self.repo = AlertRepository(evaluator.store)
        #: ``/alerts`` and ``/rules``.
        self.rules = RuleService(self.repo, environments, evaluator.wake)
        #: ``/channels`` and ``/deliveries``.
        self.channels = ChannelService(self.repo, secrets, self.send_test)
        #: ``/silences`` and ``/maintenance``.
        self.silences = SilenceService(self.repo, evaluator.clock, environments, evaluator.wake)
        self.figures: LatestFigures = evaluator.figures
        self.restarts: RestartHistory = evaluator.restarts
        #: Its subscription to the fleet hub's metrics (while the alerting part runs).
        self.metrics_subscription: Subscription[MetricsBatch] | None = None

    def on_metrics(self, batch: MetricsBatch) -> None:
        """The fleet hub's subscriber: :meth:`offer_metrics` of the batch."""
        self.offer_metrics(batch.environment, batch.node, batch.message)

    def offer_metrics(self, environment: str, node: str, message: dict[str, Any]) -> None:
        """A metrics message from an agent stream: keep the figures, evaluate soon."""
        if self.figures.offer(environment, node, message):
            self.evaluator.wake()

    async def report_event(
        self,
        kind: str,
        labels: dict[str, str],
        message: str,
        severity: str | None = None,
        *,
        resolved: bool = False,
    ) -> None:
        """Raise (or with ``resolved=True`` resolve) an event-style alert; never raises.

        Args:
            kind: The condition, e.g. ``stack_deploy_failed``; rules of that condition apply.
            labels: What the event is about: ``environment``, ``stack``, ``node``… (strings).
            message: One line for the operator.
            severity: ``info``/``warning``/``critical``; default the rule's.
            resolved: The condition is over (e.g. the next deploy succeeded).
        """
        try:
            await self._report(kind, {str(k): str(v) for k, v in labels.items()}, message,
                               severity, resolved)  # fmt: skip
        except Exception:
            log.exception("report_event(%r, %r) failed; the event is not alerted", kind, labels)

    async def _report(
        self, kind: str, labels: dict[str, str], message: str, severity: str | None, resolved: bool
    ) -> None:
        now = self.evaluator.clock.now()
        view = self.evaluator.view(now.timestamp())
        async with self.evaluator.store.transaction() as session:
            rules = (
                await session.scalars(
                    select(AlertRule).where(
                        AlertRule.condition == kind, AlertRule.enabled.is_(True)
                    )
                )
            ).all()
            for rule in rules:
                if not labels_in_scope(rule, labels, view):
                    continue
                fp = fingerprint(rule.name, labels)
                alert = await session.scalar(
                    select(Alert).where(Alert.fingerprint == fp, Alert.state != AlertState.resolved)
                )
                if resolved:
                    if alert is not None:
                        alert.state, alert.resolved_at, alert.summary = (
                            AlertState.resolved,
                            now,
                            message,
                        )
                    continue
                if alert is not None:
                    alert.summary = message
                    continue
                session.add(
                    Alert(
                        fingerprint=fp,
                        rule=rule.name,
                        severity=severity if severity in SEVERITIES else rule.severity,
                        state=AlertState.firing,
                        labels=labels,
                        summary=message,
                        started_at=now,
                        fired_at=now,
                        notified=Notified.none,
                    )
                )
        self.evaluator.wake()

    async def firing(self, limit: int) -> tuple[list[Alert], int]:
        """Firing alerts, worst severity then newest first (at most ``limit``), and how many."""
        return await self.repo.firing(SEVERITIES, limit)

    async def send_test(self, channel: str, wait_s: float) -> AlertDelivery | None:
        """Queue a test notification to ``channel``; wait for its (only) attempt."""
        title, body = test_message(channel)
        row = AlertDelivery(
            channel=channel,
            event=Event.test.value,
            rule=None,
            alert_ids=[],
            title=title,
            body=body,
            severity="info",
            status="pending",
            next_attempt_at=self.evaluator.clock.now(),
        )
        await self.repo.add(row)
        self.worker.wake()
        return await self.worker.wait_attempted(row.id, wait_s)
