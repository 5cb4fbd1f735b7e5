"""Metrics history: samples from the agents' streams into the store, and the query API.

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
fleet part has started (it hooks the writer onto the fleet's inventory, which hands it every
``metrics`` message of every agent stream) and :func:`stop` before the fleet stops.
``app.state.metrics`` is the :class:`~fleetdeck.server.metrics.writer.MetricsWriter`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.server.metrics.api import router
from fleetdeck.server.metrics.prometheus import LatestSamples, make_registry
from fleetdeck.server.metrics.prometheus import router as prometheus_router
from fleetdeck.server.metrics.writer import MetricsWriter

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["MetricsWriter", "prometheus_router", "router", "start", "stop"]


async def start(app: FastAPI) -> None:
    """Start the writer and pruner; route the inventory's metrics messages to the writer."""
    hours = app.state.settings.metrics_raw_retention_hours
    writer = MetricsWriter(app.state.store, retention_s=hours * 3600.0)
    writer.start()
    app.state.metrics = writer
    fleet = getattr(app.state, "fleet", None)
    if fleet is not None:
        latest = LatestSamples()
        app.state.prometheus_registry = make_registry(fleet, latest)

        def sink(environment: str, node: str, message: dict[str, Any]) -> None:
            writer.offer(environment, node, message)
            latest.offer(environment, node, message)

        fleet.inventory.metrics_sink = sink


async def stop(app: FastAPI) -> None:
    """Stop the writer (agents replay what was not written when the server returns)."""
    writer: MetricsWriter | None = getattr(app.state, "metrics", None)
    if writer is not None:
        fleet = getattr(app.state, "fleet", None)
        if fleet is not None:
            fleet.inventory.metrics_sink = None
        await writer.stop()
