"""Metrics history: samples from the agents' streams into the store, and the query API.

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
fleet part has started (it hooks the writer onto the fleet's inventory, which hands it every
``metrics`` message of every agent stream) and :func:`stop` before the fleet stops.
``app.state.metrics`` is the :class:`~fleetdeck.server.metrics.writer.MetricsWriter`,
``app.state.metrics_retention`` the
:class:`~fleetdeck.server.metrics.retention.MetricsRetentionReconciler` (rollups, pruning),
``app.state.metrics_latest`` the :class:`~fleetdeck.server.metrics.latest.LatestSamples` of
``/metrics`` and the dashboard's node table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.server.metrics.api import router
from fleetdeck.server.metrics.latest import LatestSamples
from fleetdeck.server.metrics.prometheus import make_registry
from fleetdeck.server.metrics.prometheus import router as prometheus_router
from fleetdeck.server.metrics.retention import MetricsRetentionReconciler, Retention
from fleetdeck.server.metrics.writer import MetricsWriter

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "MetricsRetentionReconciler",
    "MetricsWriter",
    "Retention",
    "prometheus_router",
    "router",
    "start",
    "stop",
]


async def start(app: FastAPI) -> None:
    """Start the writer and the retention loop; route the agents' metrics to the writer."""
    settings = app.state.settings
    retention = Retention.from_settings(settings)
    clock = app.state.clock
    writer = MetricsWriter(app.state.store, retention_s=retention.raw_s, clock=clock)
    loops = app.state.loops
    loops.start(writer.loop)
    app.state.metrics = writer
    reconciler = MetricsRetentionReconciler(
        app.state.store,
        retention,
        interval=settings.metrics_rollup_interval_seconds,
        on_pruned=writer.forget_series,
        clock=clock,
    )
    loops.start(reconciler.loop)
    app.state.metrics_retention = reconciler
    fleet = getattr(app.state, "fleet", None)
    if fleet is not None:
        latest = LatestSamples()
        app.state.metrics_latest = latest
        app.state.prometheus_registry = make_registry(fleet, latest, loops)

        def sink(environment: str, node: str, message: dict[str, Any]) -> None:
            writer.offer(environment, node, message)
            latest.offer(environment, node, message)

        fleet.inventory.metrics_sink = sink


async def stop(app: FastAPI) -> None:
    """Stop the writer (agents replay what was not written when the server returns)."""
    reconciler: MetricsRetentionReconciler | None = getattr(app.state, "metrics_retention", None)
    if reconciler is not None:
        await reconciler.stop()
    writer: MetricsWriter | None = getattr(app.state, "metrics", None)
    if writer is not None:
        fleet = getattr(app.state, "fleet", None)
        if fleet is not None:
            fleet.inventory.metrics_sink = None
        await writer.stop()
