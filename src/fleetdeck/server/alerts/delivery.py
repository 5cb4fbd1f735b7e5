"""The delivery worker: sends the outbox (``alert_deliveries`` rows) with retry and backoff.

Its passes are a supervised :class:`~fleetdeck.server.loops.BackgroundLoop`
(``alert-deliveries``): every :data:`IDLE_S` seconds, and at once when woken.

Rows are written ``pending`` by the evaluator in the same transaction as the alert change
that causes them. The worker picks due rows, sends each through the :class:`Notifier` in a
task of its own (at most one send in flight per channel, so a hanging channel delays only
itself), and records the outcome: ``sent``; or a retry after ``backoff × 2^(attempt-1)``
seconds; or ``failed`` after the last attempt, with the error. A crash leaves rows
``pending``; they are sent after the restart (at-least-once: a send interrupted between the
service accepting it and the row being updated is sent again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from fleetdeck.clock import SYSTEM
from fleetdeck.errors import FleetdeckError
from fleetdeck.server.alerts.channels import scrub_urls
from fleetdeck.server.alerts.state import Event
from fleetdeck.server.loops import BackgroundLoop, Backoff
from fleetdeck.server.store.models_alerts import AlertDelivery, NotificationChannel

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.channels import Notifier
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.store import Store

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
#: Longest the worker sleeps when nothing is due (new rows wake it at once).
IDLE_S = 5.0
#: Rows picked per pass at most.
BATCH = 50


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try."""

    attempts: int = 5
    backoff_s: float = 5.0
    timeout_s: float = 20.0

    def retry_after(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1`` (exponential, capped at one hour)."""
        return Backoff(self.backoff_s, 3600.0).delay(attempt)


class DeliveryWorker:
    """Sends pending deliveries; one task per send, one send in flight per channel."""

    def __init__(
        self,
        store: Store,
        box: SecretBox,
        notifier: Notifier,
        policy: DeliveryPolicy,
        clock: Clock = SYSTEM,
    ) -> None:
        self.store = store
        self.clock = clock
        self.box = box
        self.notifier = notifier
        self.policy = policy
        self._busy: set[str] = set()  # channels with a send in flight
        self._sends: set[asyncio.Task[None]] = set()
        self._done = asyncio.Condition()
        self.loop = BackgroundLoop(
            "alert-deliveries", step=self._pass, interval=IDLE_S,
            backoff=Backoff(1.0, IDLE_S), clock=clock,
        )  # fmt: skip

    def start(self) -> None:
        """Start the worker loop."""
        self.loop.start()

    async def stop(self) -> None:
        """Stop the loop and every send in progress (their rows stay pending)."""
        await self.loop.stop()
        sends = list(self._sends)
        for task in sends:
            task.cancel()
        await asyncio.gather(*sends, return_exceptions=True)

    def wake(self) -> None:
        """New rows were written: look for due ones now."""
        self.loop.wake()

    async def _pass(self) -> None:
        """One step of the loop: start the due sends."""
        await self.run_due()

    async def run_due(self) -> int:
        """Start a send for every channel that is free and has a due row; return how many.

        Each round leaves out the channels already sending, so a busy channel's backlog can
        never fill the batch and keep another channel's rows from being seen.
        """
        started = 0
        while True:
            rows = await self._due(self.clock.now())
            round_started = 0
            for row in rows:
                if row.channel in self._busy:
                    continue
                self._busy.add(row.channel)
                task = asyncio.create_task(self._send(row.id, row.channel), name=f"notify-{row.id}")
                self._sends.add(task)
                task.add_done_callback(self._sends.discard)
                round_started += 1
            started += round_started
            if not round_started or len(rows) < BATCH:
                return started

    async def _due(self, now: datetime) -> list[AlertDelivery]:
        async with self.store.session() as session:
            rows = await session.scalars(
                select(AlertDelivery)
                .where(
                    AlertDelivery.status == PENDING,
                    AlertDelivery.next_attempt_at <= now,
                    AlertDelivery.channel.not_in(sorted(self._busy)),
                )
                .order_by(AlertDelivery.created_at)
                .limit(BATCH)
            )
            return list(rows.all())

    async def _send(self, delivery_id: str, channel: str) -> None:
        try:
            await self.attempt(delivery_id)
        except Exception:
            log.exception("alert delivery %s: attempt failed unexpectedly", delivery_id)
        finally:
            self._busy.discard(channel)
            async with self._done:
                self._done.notify_all()
            self.wake()  # the channel's next row may be due

    async def attempt(self, delivery_id: str) -> AlertDelivery | None:
        """Make one attempt at a delivery and record its outcome; return the row."""
        async with self.store.session() as session:
            row = await session.get(AlertDelivery, delivery_id)
            channel = await session.scalar(
                select(NotificationChannel).where(NotificationChannel.name == row.channel)
            ) if row is not None else None  # fmt: skip
        if row is None or row.status != PENDING:
            return row
        error: str | None = None
        if channel is None:
            error = f"channel {row.channel!r} no longer exists"
        else:
            try:
                url = self.box.open(channel.url_encrypted, f"channel:{channel.name}")
                await self.notifier.send(
                    url, row.title, row.body, Event(row.event), row.severity, self.policy.timeout_s
                )
            except FleetdeckError as exc:
                error = scrub_urls(exc.message)
            except Exception as exc:  # noqa: BLE001 - a notifier bug must not stop the worker
                error = scrub_urls(f"{type(exc).__name__}: {exc}")
        return await self._record(delivery_id, error, final=channel is None)

    async def _record(
        self, delivery_id: str, error: str | None, final: bool
    ) -> AlertDelivery | None:
        now = self.clock.now()
        async with self.store.transaction() as session:
            row = await session.get(AlertDelivery, delivery_id)
            if row is None:
                return None
            row.attempts += 1
            row.last_error = error
            if error is None:
                row.status, row.sent_at = SENT, now
            elif final or row.event == Event.test or row.attempts >= self.policy.attempts:
                row.status = FAILED
            else:
                row.next_attempt_at = now + timedelta(seconds=self.policy.retry_after(row.attempts))
        if error is not None:
            log.warning(
                "alert delivery to %s failed (attempt %d): %s", row.channel, row.attempts, error
            )
        return row

    async def wait_attempted(self, delivery_id: str, timeout: float) -> AlertDelivery | None:
        """Wait until a delivery had its first attempt (the test action), or ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.store.session() as session:
                row = await session.get(AlertDelivery, delivery_id)
            if row is None or row.attempts > 0 or loop.time() >= deadline:
                return row
            async with self._done:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._done.wait(), max(0.05, deadline - loop.time()))
