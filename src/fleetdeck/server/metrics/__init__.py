"""Metrics history: samples from the agents' streams into the store, and the query API.

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
fleet part has started (it subscribes the writer and the latest samples to the fleet hub's
:class:`~fleetdeck.server.fleet.hub.MetricsBatch`: every ``metrics`` message of every agent
stream) and :func:`stop` before the fleet stops. :class:`MetricsPart` holds what it runs:
the :class:`~fleetdeck.server.metrics.writer.MetricsWriter`, the
:class:`~fleetdeck.server.metrics.retention.MetricsRetentionReconciler` (rollups, pruning),
the :class:`~fleetdeck.server.metrics.latest.LatestSamples` of ``/metrics`` and the
dashboard's node table, and the Prometheus registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fleetdeck.server.fleet.hub import MetricsBatch
from fleetdeck.server.metrics.api import router
from fleetdeck.server.metrics.latest import LatestSamples
from fleetdeck.server.metrics.prometheus import make_registry
from fleetdeck.server.metrics.prometheus import router as prometheus_router
from fleetdeck.server.metrics.retention import MetricsRetentionReconciler, Retention
from fleetdeck.server.metrics.writer import MetricsWriter

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from fleetdeck.clock import Clock
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.fleet.hub import Subscription
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.store import Store

__all__ = [
    "MetricsPart",
    "MetricsRetentionReconciler",
    "MetricsWriter",
    "Retention",
    "prometheus_router",
    "router",
    "start",
    "stop",
]


@dataclass
class MetricsPart:
    """What the metrics part runs while the server runs."""

    writer: MetricsWriter
    retention: MetricsRetentionReconciler
    latest: LatestSamples
    prometheus_registry: CollectorRegistry
    fleet: Fleet
    subscriptions: list[Subscription[MetricsBatch]]


async def start(
    settings: ServerSettings, store: Store, fleet: Fleet, clock: Clock, loops: LoopRegistry
) -> MetricsPart:
    """Start the writer and the retention loop; subscribe them to the agents' metrics."""
    retention = Retention.from_settings(settings)
    writer = MetricsWriter(store, retention_s=retention.raw_s, clock=clock)
    loops.start(writer.loop)
    reconciler = MetricsRetentionReconciler(
        store,
        retention,
        interval=settings.metrics_rollup_interval_seconds,
        on_pruned=writer.forget_series,
        clock=clock,
    )
    loops.start(reconciler.loop)
    latest = LatestSamples()
    subscriptions = [
        fleet.hub.subscribe(MetricsBatch, lambda e: writer.offer(e.environment, e.node, e.message)),
        fleet.hub.subscribe(MetricsBatch, lambda e: latest.offer(e.environment, e.node, e.message)),
    ]
    registry = make_registry(fleet, latest, loops)
    return MetricsPart(writer, reconciler, latest, registry, fleet, subscriptions)


async def stop(part: MetricsPart) -> None:
    """Stop the writer (agents replay what was not written when the server returns)."""
    await part.retention.stop()
    for subscription in part.subscriptions:
        part.fleet.hub.unsubscribe(subscription)
    await part.writer.stop()
