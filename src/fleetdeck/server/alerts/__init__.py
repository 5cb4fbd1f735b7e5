"""Alerting: rules, the evaluator, silences, maintenance windows, channels and deliveries.

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
metrics part (the alerting part subscribes to the fleet hub's metrics batches, next to the
metrics writer) and :func:`stop` before it. :func:`start` returns the
:class:`~fleetdeck.server.alerts.service.AlertService` (``ServerContext.alerts``); other
parts raise event alerts with its ``report_event`` (see there).

Modules: ``rules`` (model, validation, built-ins), ``conditions`` (what holds now),
``figures`` (latest samples, restart history), ``state`` (state machine, notification
decision), ``silences`` (matchers, maintenance), ``evaluator`` (the reconciler),
``channels`` (Apprise), ``delivery`` (the outbox worker), ``messages``, ``service``, and
the routes ``api``, ``api_silences``, ``api_channels``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter
from sqlalchemy import select

from fleetdeck.server.alerts import api, api_channels, api_silences
from fleetdeck.server.alerts.channels import AppriseNotifier, mask_url
from fleetdeck.server.alerts.delivery import DeliveryPolicy, DeliveryWorker
from fleetdeck.server.alerts.evaluator import AlertEvaluator, EvaluatorConfig
from fleetdeck.server.alerts.figures import LatestFigures, RestartHistory
from fleetdeck.server.alerts.rules import builtin_rules, validate_rule
from fleetdeck.server.alerts.service import AlertService
from fleetdeck.server.fleet.hub import MetricsBatch
from fleetdeck.server.store.models_alerts import AlertRule, NotificationChannel

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.store import Store

__all__ = ["AlertService", "router", "start", "stop"]

log = logging.getLogger(__name__)

router = APIRouter()
router.include_router(api.router)
router.include_router(api_silences.router)
router.include_router(api_channels.router)


async def seed_builtin_rules(store: Store, settings: ServerSettings) -> int:
    """Add the built-in rules that are missing (existing ones keep the operator's edits)."""
    added = 0
    async with store.transaction() as session:
        names = set((await session.scalars(select(AlertRule.name))).all())
        for spec in builtin_rules(settings):
            if spec.name not in names:
                session.add(AlertRule(**validate_rule(spec, set(), set()), builtin=True))
                added += 1
    return added


def _service(
    settings: ServerSettings, store: Store, secrets: SecretBox, fleet: Fleet, clock: Clock
) -> AlertService:
    policy = DeliveryPolicy(
        attempts=settings.alerts_delivery_attempts,
        backoff_s=settings.alerts_delivery_backoff_s,
        timeout_s=settings.alerts_delivery_timeout_s,
    )
    worker = DeliveryWorker(store, secrets, AppriseNotifier(), policy, clock)
    config = EvaluatorConfig(
        interval_s=settings.alerts_evaluation_interval_s,
        repeat_s=settings.alerts_repeat_interval_minutes * 60,
        history_s=settings.alerts_history_days * 86400,
    )

    def env_tags() -> dict[str, list[str]]:
        records = [fleet.find_environment(n) for n in fleet.environment_names()]
        return {e.name: list(e.tags) for e in records if e is not None}

    evaluator = AlertEvaluator(
        store,
        fleet.inventory,
        env_tags,
        LatestFigures(),
        RestartHistory(),
        worker,
        config,
        clock=clock,
    )
    return AlertService(evaluator, worker, secrets=secrets, environments=fleet.environment_names)


async def remask_channel_urls(store: Store) -> int:
    """Re-mask channel URLs stored by older versions; return how many rows changed.

    Older versions stored Apprise's privacy rendering, which keeps header and payload
    parameters (``+Authorization=…``) in clear. Idempotent: run at every start.
    """
    changed = 0
    async with store.transaction() as session:
        for row in (await session.scalars(select(NotificationChannel))).all():
            masked = mask_url(row.url_masked)
            if masked != row.url_masked:
                row.url_masked, changed = masked, changed + 1
    if changed:
        log.info("masked the stored rendering of %d channel URL(s)", changed)
    return changed


async def start(
    settings: ServerSettings,
    store: Store,
    secrets: SecretBox,
    fleet: Fleet,
    clock: Clock,
    loops: LoopRegistry,
) -> AlertService:
    """Seed built-in rules, start the evaluator and the delivery worker, follow metrics."""
    await seed_builtin_rules(store, settings)
    await remask_channel_urls(store)
    service = _service(settings, store, secrets, fleet, clock)
    service.metrics_subscription = fleet.hub.subscribe(MetricsBatch, service.on_metrics)
    for loop in (service.worker.loop, *service.evaluator.loops):
        loops.add(loop)
    service.worker.start()
    service.evaluator.start()
    return service


async def stop(service: AlertService, fleet: Fleet) -> None:
    """Stop the evaluator and the worker; stop following metrics."""
    if service.metrics_subscription is not None:
        fleet.hub.unsubscribe(service.metrics_subscription)
        service.metrics_subscription = None
    await service.evaluator.stop()
    await service.worker.stop()
    notifier = service.worker.notifier
    if isinstance(notifier, AppriseNotifier):
        notifier.close()
