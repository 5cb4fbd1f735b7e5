"""Alerting: rules, the evaluator, silences, maintenance windows, channels and deliveries.

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
metrics part (the alerting part adds itself to the inventory's metrics sink, next to the
metrics writer) and :func:`stop` before it. ``app.state.alerts`` is the
:class:`~fleetdeck.server.alerts.service.AlertService`; other parts raise event alerts
with its ``report_event`` (see there).

Modules: ``rules`` (model, validation, built-ins), ``conditions`` (what holds now),
``figures`` (latest samples, restart history), ``state`` (state machine, notification
decision), ``silences`` (matchers, maintenance), ``evaluator`` (the reconciler),
``channels`` (Apprise), ``delivery`` (the outbox worker), ``messages``, ``service``, and
the routes ``api``, ``api_silences``, ``api_channels``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from sqlalchemy import select

from fleetdeck.server.alerts import api, api_channels, api_silences
from fleetdeck.server.alerts.channels import AppriseNotifier, mask_url
from fleetdeck.server.alerts.delivery import DeliveryPolicy, DeliveryWorker
from fleetdeck.server.alerts.evaluator import AlertEvaluator, EvaluatorConfig
from fleetdeck.server.alerts.figures import LatestFigures, RestartHistory
from fleetdeck.server.alerts.rules import builtin_rules, validate_rule
from fleetdeck.server.alerts.service import AlertService
from fleetdeck.server.store.models_alerts import AlertRule, NotificationChannel

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings
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


def _service(app: FastAPI) -> AlertService:
    settings: ServerSettings = app.state.settings
    policy = DeliveryPolicy(
        attempts=settings.alerts_delivery_attempts,
        backoff_s=settings.alerts_delivery_backoff_s,
        timeout_s=settings.alerts_delivery_timeout_s,
    )
    clock = app.state.clock
    worker = DeliveryWorker(app.state.store, app.state.secrets, AppriseNotifier(), policy, clock)
    config = EvaluatorConfig(
        interval_s=settings.alerts_evaluation_interval_s,
        repeat_s=settings.alerts_repeat_interval_minutes * 60,
        history_s=settings.alerts_history_days * 86400,
    )
    fleet = getattr(app.state, "fleet", None)

    def env_tags() -> dict[str, list[str]]:
        records = [fleet.find_environment(n) for n in fleet.environment_names()] if fleet else []
        return {e.name: list(e.tags) for e in records if e is not None}

    evaluator = AlertEvaluator(
        app.state.store,
        fleet.inventory if fleet is not None else None,
        env_tags,
        LatestFigures(),
        RestartHistory(),
        worker,
        config,
        clock=clock,
    )
    environments = fleet.environment_names if fleet is not None else None
    return AlertService(
        evaluator, worker, secrets=getattr(app.state, "secrets", None), environments=environments
    )


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


async def start(app: FastAPI) -> None:
    """Seed built-in rules, start the evaluator and the delivery worker, follow metrics."""
    await seed_builtin_rules(app.state.store, app.state.settings)
    await remask_channel_urls(app.state.store)
    service = _service(app)
    app.state.alerts = service
    fleet = getattr(app.state, "fleet", None)
    if fleet is not None:
        previous = fleet.inventory.metrics_sink  # the metrics writer's: keep it, add ours

        def sink(environment: str, node: str, message: dict[str, Any]) -> None:
            if previous is not None:
                previous(environment, node, message)
            service.offer_metrics(environment, node, message)

        fleet.inventory.metrics_sink = sink
        service.previous_sink = previous
    for loop in (service.worker.loop, *service.evaluator.loops):
        app.state.loops.add(loop)
    service.worker.start()
    service.evaluator.start()


async def stop(app: FastAPI) -> None:
    """Stop the evaluator and the worker; give the metrics sink back as it was."""
    service: AlertService | None = getattr(app.state, "alerts", None)
    if service is None:
        return
    fleet = getattr(app.state, "fleet", None)
    if fleet is not None:
        fleet.inventory.metrics_sink = service.previous_sink
    await service.evaluator.stop()
    await service.worker.stop()
    notifier = service.worker.notifier
    if isinstance(notifier, AppriseNotifier):
        notifier.close()
