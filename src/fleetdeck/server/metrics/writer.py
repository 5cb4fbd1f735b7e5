"""Writing agents' samples to the store off the links' hot path, and pruning old ones.

An agent link hands each ``metrics`` message to :meth:`MetricsWriter.offer`, which only
queues it (never waits: a slow disk must not stall a node's inventory stream). One writer
loop (a supervised :class:`~fleetdeck.server.loops.BackgroundLoop`, ``metrics-writer``) drains
the queue in batches, one transaction per batch; a batch that fails is dropped and the loop
backs off before the next. Rows are keyed by (series,
time), and a duplicate is ignored, so the replay an agent sends after a reconnect (its
buffered samples) fills gaps without double counting. When the queue is full, messages are
dropped and counted (:attr:`MetricsWriter.dropped`).

Samples older than the raw retention are not written (they would be pruned at once). When
a batch holds samples for minutes already rolled up (an agent's replay), the writer moves the
rollups' ``done_until`` back in the same transaction so those buckets are rolled up again.
Rolling up and pruning is :mod:`fleetdeck.server.metrics.retention`'s job.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fleetdeck.clock import SYSTEM
from fleetdeck.server.loops import BackgroundLoop, Backoff
from fleetdeck.server.metrics.catalog import flatten
from fleetdeck.server.metrics.retention import MINUTE
from fleetdeck.server.store.models import MetricRollupState, MetricSample, MetricSeries

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from fleetdeck.clock import Clock
    from fleetdeck.server.store import Store

QUEUE_SIZE = 5000
#: Messages written per transaction at most.
BATCH = 100

log = logging.getLogger(__name__)

#: (environment, node, kind, target id, metric, instance)
SeriesKey = tuple[str, str, str, str, str, str]


class MetricsWriter:
    """Queues metrics messages and writes them in batches.

    Args:
        store: The server's store.
        retention_s: Seconds raw samples are kept (older ones are not written).
        queue_size: Messages held before new ones are dropped.
        clock: The present, which decides what is already past retention.
    """

    def __init__(
        self,
        store: Store,
        *,
        retention_s: float,
        queue_size: int = QUEUE_SIZE,
        clock: Clock = SYSTEM,
    ):
        self.store = store
        self.clock = clock
        self.retention_s = retention_s
        self.queue: asyncio.Queue[tuple[str, str, dict[str, Any]]] = asyncio.Queue(queue_size)
        self.dropped = 0
        self.written = 0
        self._series: dict[SeriesKey, int] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self.loop = BackgroundLoop(
            "metrics-writer", step=self._write_batch, backoff=Backoff(1.0, 10.0), clock=clock
        )

    def start(self) -> None:
        """Start the writer loop."""
        self.loop.start()

    async def stop(self) -> None:
        """Stop writing (what is still queued is lost: agents replay their buffer)."""
        await self.loop.stop()

    def offer(self, environment: str, node: str, message: dict[str, Any]) -> None:
        """Queue one message without waiting; drop (and count) it if the queue is full."""
        try:
            self.queue.put_nowait((environment, node, message))
            self._idle.clear()
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped % 100 == 1:
                log.warning("metrics queue full: %d messages dropped so far", self.dropped)

    async def drained(self) -> None:
        """Wait until everything queued so far is written (tests, shutdown)."""
        await self._idle.wait()

    async def _write_batch(self) -> None:
        """One step of the loop: wait for messages, write a batch of them."""
        items = [await self.queue.get()]
        while len(items) < BATCH and not self.queue.empty():
            items.append(self.queue.get_nowait())
        try:
            await self.write(items)
        except Exception:
            log.warning("writing %d metrics messages failed: dropped", len(items))
            raise  # the loop logs the traceback and backs off
        finally:
            if self.queue.empty():
                self._idle.set()

    async def write(self, items: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Write messages now; return how many sample rows were offered to the store."""
        samples: list[tuple[SeriesKey, str, int, float]] = []
        oldest = self.clock.time() - self.retention_s
        for environment, node, message in items:
            try:
                ts, rows = flatten(node, message)
            except (KeyError, ValueError, TypeError):
                log.warning("bad metrics message from %s/%s: ignored", environment, node)
                continue
            if ts < oldest:
                continue
            for kind, target_id, name, metric, instance, value in rows:
                key = (environment, node, kind, target_id, metric, instance)
                samples.append((key, name, ts, value))
        if not samples:
            return 0
        async with self.store.transaction() as session:
            new = await self._series_ids(session, {key: name for key, name, _, _ in samples})
            ids = {**self._series, **new}
            params = [{"series_id": ids[k], "ts": ts, "value": v} for k, _, ts, v in samples]
            insert = sqlite_insert if self.store.is_sqlite else pg_insert
            stmt = insert(MetricSample).on_conflict_do_nothing(index_elements=["series_id", "ts"])
            await session.execute(stmt, params)
            first = min(ts for _, _, ts, _ in samples) // MINUTE * MINUTE
            await session.execute(
                update(MetricRollupState)
                .where(MetricRollupState.step == MINUTE, MetricRollupState.done_until > first)
                .values(done_until=first)
            )
        self._series.update(new)  # only once committed: a rolled-back id must not be cached
        self.written += len(samples)
        return len(samples)

    async def _series_ids(
        self, session: AsyncSession, names: dict[SeriesKey, str]
    ) -> dict[SeriesKey, int]:
        """Ids of series not cached yet: loaded per node, created if they do not exist."""
        missing = [key for key in names if key not in self._series]
        found: dict[SeriesKey, int] = {}
        for environment, node in {(k[0], k[1]) for k in missing}:
            result = await session.scalars(
                select(MetricSeries).where(
                    MetricSeries.environment == environment, MetricSeries.node == node
                )
            )
            for s in result:
                found[(s.environment, s.node, s.kind, s.target_id, s.metric, s.instance)] = s.id
        created = [
            MetricSeries(
                environment=k[0], node=k[1], kind=k[2], target_id=k[3], target_name=names[k],
                metric=k[4], instance=k[5],
            )
            for k in missing
            if k not in found
        ]  # fmt: skip
        if created:
            session.add_all(created)
            await session.flush()
            for s in created:
                found[(s.environment, s.node, s.kind, s.target_id, s.metric, s.instance)] = s.id
        return found

    def forget_series(self) -> None:
        """Drop cached series ids (some were pruned; the rest are reloaded lazily)."""
        self._series.clear()
