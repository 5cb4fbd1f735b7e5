"""The alert state machine and the notification decision, as pure functions over rows.

States (:class:`AlertState`)::

    (condition holds) ──> pending ──(held for the rule's ``for``)──> firing ──> resolved
                            │                                                  ^
                            └──(condition clears before ``for``: dropped, never notified)

A pending alert whose condition clears is deleted: nobody was told, nothing to resolve.
``notified`` records what the channels were last told (``none``/``firing``/``resolved``);
:func:`notification_due` compares it with the state, so the decision is the same whenever
it is made: after a crash the evaluator sends exactly what was not sent yet.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from fleetdeck.server.alerts.conditions import Candidate
    from fleetdeck.server.store.models_alerts import Alert


class AlertState(StrEnum):
    """Where an alert stands."""

    pending = "pending"
    firing = "firing"
    resolved = "resolved"


class Notified(StrEnum):
    """What the channels were last told about an alert."""

    none = "none"
    firing = "firing"
    resolved = "resolved"


class Event(StrEnum):
    """Kinds of notification."""

    firing = "firing"
    resolved = "resolved"
    repeat = "repeat"
    test = "test"


def advance(alert: Alert, holds: Candidate | None, for_s: float, now: datetime) -> bool:
    """Move ``alert`` one step given whether its condition ``holds`` now.

    Returns False when the alert is to be deleted (pending, cleared before ``for``).
    """
    if holds is not None:
        alert.summary, alert.value = holds.summary, holds.value
    if alert.state == AlertState.pending:
        if holds is None:
            return False
        if now - alert.started_at >= timedelta(seconds=for_s):
            alert.state, alert.fired_at = AlertState.firing, now
    elif alert.state == AlertState.firing and holds is None:
        alert.state, alert.resolved_at = AlertState.resolved, now
    return True


def notification_due(alert: Alert, repeat_s: float, now: datetime) -> Event | None:
    """What to send about ``alert`` now, if anything (its ``suppressed`` already set)."""
    if alert.state == AlertState.firing:
        if alert.suppressed:
            return None
        if alert.notified != Notified.firing:
            return Event.firing
        last = alert.last_notified_at
        if alert.acked_at is None and (last is None or now - last >= timedelta(seconds=repeat_s)):
            return Event.repeat
        return None
    if alert.state == AlertState.resolved and alert.notified == Notified.firing:
        # A silenced or muted alert resolves quietly (it is marked so by the caller).
        return None if alert.suppressed else Event.resolved
    return None


def mark_notified(alert: Alert, event: Event | None, now: datetime) -> None:
    """Record what was (or, for a quiet resolve, need not be) sent."""
    if event in (Event.firing, Event.repeat):
        alert.notified, alert.last_notified_at = Notified.firing, now
    elif alert.state == AlertState.resolved and alert.notified == Notified.firing:
        alert.notified = Notified.resolved
        if event is not None:
            alert.last_notified_at = now
