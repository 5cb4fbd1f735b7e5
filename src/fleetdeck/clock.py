"""The present, in one place: every comparison of a stored time with "now" asks a clock.

Code that decides by the wall clock — which metrics resolution still reaches back, what
retention prunes, when an alert's ``for`` window has passed, whether a token or session has
expired, how old a revision is — takes a :class:`Clock` through its constructor (default
:data:`SYSTEM`) instead of calling ``datetime.now`` itself. Tests then state the present they
assume with a :class:`FrozenClock` rather than hoping a constant date is near the real one
(a suite pinned to one day went red a day later when the raw-metrics window moved past it).

The server builds one clock in :func:`fleetdeck.server.app.create_app` and hands the same
instance to every part, so a test can move the whole server's present at once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A source of the present, always timezone-aware UTC."""

    def now(self) -> datetime:
        """The present as an aware UTC datetime."""
        ...

    def time(self) -> float:
        """The present as epoch seconds (the same instant as :meth:`now`)."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class FrozenClock:
    """A clock that stands still until moved: for tests and for replaying a known present.

    Args:
        at: the present it shows; an aware datetime (naive ones are refused so that a test
            cannot silently mean local time).
    """

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at)

    def now(self) -> datetime:
        """The frozen present."""
        return self._at

    def time(self) -> float:
        """The frozen present as epoch seconds."""
        return self._at.timestamp()

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (forwards or backwards)."""
        self._at = _aware(at)

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forwards by ``delta`` (a timedelta or seconds); returns the new present."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self._at += step
        return self._at

    def __repr__(self) -> str:
        return f"FrozenClock({self._at.isoformat()})"


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a clock shows aware UTC times: pass tzinfo=UTC")
    return at.astimezone(UTC)


#: The process-wide wall clock: the default wherever no clock is passed in.
SYSTEM: Clock = SystemClock()

__all__ = ["SYSTEM", "Clock", "FrozenClock", "SystemClock"]
