"""The injectable clock: the system clock is the machine's, a frozen one moves only when told."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from fleetdeck.clock import SYSTEM, Clock, FrozenClock


def test_the_system_clock_is_aware_utc_and_agrees_with_time() -> None:
    before = time.time()
    now = SYSTEM.now()
    after = time.time()
    assert now.tzinfo is UTC
    assert before - 1 <= now.timestamp() <= after + 1
    assert isinstance(SYSTEM, Clock)


def test_a_frozen_clock_stands_still_until_moved() -> None:
    at = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    clock = FrozenClock(at)
    assert isinstance(clock, Clock)
    assert clock.now() == at and clock.time() == at.timestamp()
    assert clock.advance(90) == at + timedelta(seconds=90)
    assert clock.advance(timedelta(days=1)) == at + timedelta(days=1, seconds=90)
    clock.set(at - timedelta(days=400))
    assert clock.now() == at - timedelta(days=400)


def test_a_frozen_clock_keeps_utc_and_refuses_naive_times() -> None:
    clock = FrozenClock(datetime(2030, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2030, 6, 1, 12, 0, tzinfo=UTC) and clock.now().tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2030, 6, 1))  # noqa: DTZ001 - the naive time under test
