"""Silences and maintenance windows: holding notifications back for a while.

Both take a start (default now) and either an end or a duration (``2h``). Ending one ends it
now (a pending one ends before it starts); ended ones stay listed (state ``expired``) until
the alert history is pruned. Every change wakes the evaluator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from fleetdeck.durations import parse_seconds
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.alerts.silences import parse_matchers
from fleetdeck.server.store.models_alerts import AlertSilence, MaintenanceWindow

if TYPE_CHECKING:
    from collections.abc import Callable

    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.repository import AlertRepository


#: A time as a request asks for it: (starts_at, ends_at, duration), see :func:`period`.
Asked = tuple[datetime | None, datetime | None, str | float | None]


def state_of(starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    """``pending``, ``active`` or ``expired``."""
    return "expired" if ends_at <= now else "pending" if starts_at > now else "active"


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInputError(f"{name} needs a time zone", hint="e.g. 2026-01-02T03:04:05Z")
    return value.astimezone(UTC)


def period(
    starts_at: datetime | None,
    ends_at: datetime | None,
    duration: str | float | None,
    now: datetime,
) -> tuple[datetime, datetime]:
    """The (start, end) asked for, from ``now`` unless it says; else InvalidInputError."""
    starts = _aware(starts_at, "starts_at") or now
    ends = _aware(ends_at, "ends_at")
    if (ends is None) == (duration is None):
        raise InvalidInputError("give either ends_at or duration", hint="e.g. duration: 2h")
    if ends is None:
        ends = starts + timedelta(seconds=parse_seconds(duration, "duration") or 0)
    if ends <= starts:
        raise InvalidInputError("the end must be after the start")
    return starts, ends


class SilenceService:
    """Silences and maintenance windows over the store.

    Args:
        repo: The alerting tables.
        clock: The present.
        environments: The fleet's environment names (None: no fleet, nothing to check).
        wake: Wakes the evaluator after a change.
    """

    def __init__(
        self,
        repo: AlertRepository,
        clock: Clock,
        environments: Callable[[], set[str]] | None,
        wake: Callable[[], None],
    ) -> None:
        self.repo = repo
        self.clock = clock
        self._environments = environments
        self._wake = wake

    async def silences(self) -> list[AlertSilence]:
        """Silences, newest first (active, pending and expired)."""
        return await self.repo.periods(AlertSilence)

    async def create_silence(
        self,
        matchers: list[str],
        comment: str,
        who: str,
        asked: Asked,
    ) -> AlertSilence:
        """Hold back notifications of alerts that match every matcher, for the time asked."""
        parsed = parse_matchers(matchers)
        starts, ends = period(*asked, self.clock.now())
        row = AlertSilence(matchers=parsed, starts_at=starts, ends_at=ends,
                           comment=comment, created_by=who)  # fmt: skip
        row = await self.repo.add(row)
        self._wake()
        return row

    async def expire_silence(self, silence_id: str) -> AlertSilence:
        """End a silence now."""
        row = await self.repo.end_period(AlertSilence, silence_id, self.clock.now())
        self._wake()
        return row

    async def maintenance(self) -> list[MaintenanceWindow]:
        """Maintenance windows, newest first."""
        return await self.repo.periods(MaintenanceWindow)

    async def create_maintenance(
        self,
        environment: str,
        reason: str,
        who: str,
        asked: Asked,
    ) -> MaintenanceWindow:
        """Put an environment under maintenance: its alerts notify nobody until the end."""
        if self._environments is not None and environment not in self._environments():
            raise InvalidInputError(
                f"unknown environment {environment!r}", hint="list them with: fleetdeck env ls"
            )
        starts, ends = period(*asked, self.clock.now())
        row = MaintenanceWindow(environment=environment, starts_at=starts, ends_at=ends,
                                reason=reason, created_by=who)  # fmt: skip
        row = await self.repo.add(row)
        self._wake()
        return row

    async def end_maintenance(self, window_id: str) -> MaintenanceWindow:
        """End a maintenance window now."""
        row = await self.repo.end_period(MaintenanceWindow, window_id, self.clock.now())
        self._wake()
        return row
