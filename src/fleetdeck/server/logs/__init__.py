"""Fleet-wide logs: collected from every agent into ``logs.db``, searched, tailed live.

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` after the
fleet part has started (the collector follows the fleet's agent links as they are added and
removed) and :func:`stop` before the fleet stops. :func:`start` returns the
:class:`~fleetdeck.server.logs.collector.LogCollector` (``ServerContext.logs``; its ``store``
and ``hub`` are the
:class:`~fleetdeck.server.logs.store.LogStore` and the live
:class:`~fleetdeck.server.logs.tail.TailHub`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.logs.api import router
from fleetdeck.server.logs.collector import LogCollector
from fleetdeck.server.logs.store import LogStore
from fleetdeck.server.logs.tail import TailHub

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.loops import LoopRegistry

__all__ = ["LogCollector", "router", "start", "stop"]

#: The log store's file in the data dir.
LOGS_DB = "logs.db"


async def start(
    settings: ServerSettings, fleet: Fleet, clock: Clock, loops: LoopRegistry
) -> LogCollector:
    """Open ``logs.db`` and start collecting from every agent link."""
    collector = LogCollector(
        LogStore(settings.data_dir / LOGS_DB),
        fleet,
        TailHub(),
        retention_s=settings.logs_retention_days * 86400.0,
        max_bytes=int(settings.logs_max_mb * 1024 * 1024),
        prune_interval_s=settings.logs_prune_interval_s,
        clock=clock,
        loops=loops,
    )
    collector.start()
    return collector


async def stop(collector: LogCollector) -> None:
    """Stop collecting (agents resend from the stored cursors after the next start)."""
    await collector.stop()
