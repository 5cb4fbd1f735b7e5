"""The background-loop helper: supervision, backoff, jitter, the leader gate, prompt stops.

Times the loop reports come from a frozen clock, so where it plans its next run is checked
exactly, without waiting for it; intervals that are waited out are tiny or are cut short.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from fleetdeck.clock import FrozenClock
from fleetdeck.errors import NodeUnreachableError
from fleetdeck.server.loops import (
    BackgroundLoop,
    Backoff,
    LoopRegistry,
    LoopState,
    jittered,
    safe_error,
)

if TYPE_CHECKING:
    from collections.abc import Callable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def until(what: str, condition: Callable[[], bool]) -> None:
    """Yield to the loop under test until ``condition`` holds (bounded, not timed)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


class Flaky:
    """A step that raises ``failures`` times, then succeeds (counting its calls)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> None:
        """One run of the step."""
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"secret internals, call {self.calls}")


def test_backoff_doubles_from_min_to_max() -> None:
    policy = Backoff(min_s=0.5, max_s=5.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_within_its_bounds_and_varies() -> None:
    rng = random.Random(7)
    waits = [jittered(60.0, 0.1, rng) for _ in range(1000)]
    assert all(54.0 <= w <= 66.0 for w in waits)
    assert len(set(waits)) > 900
    assert jittered(60.0, 0.0, rng) == 60.0
    assert jittered(0.0, 0.5, rng) == 0.0


def test_safe_error_keeps_internals_out() -> None:
    assert safe_error(RuntimeError("password=hunter2 at /var/lib")) == (
        "RuntimeError (details in the server log)"
    )
    assert safe_error(NodeUnreachableError("prod/n1 is unreachable")) == "prod/n1 is unreachable"


def test_a_loop_has_a_step_or_a_body() -> None:
    async def work() -> None:
        return None

    with pytest.raises(ValueError, match="either a step or a body"):
        BackgroundLoop("both", step=work, body=work)
    with pytest.raises(ValueError, match="jitter"):
        BackgroundLoop("bad", step=work, jitter=2.0)


async def test_a_step_that_raises_is_restarted_with_backoff_and_reported() -> None:
    clock = FrozenClock(NOW)
    flaky = Flaky(failures=2)
    loop = BackgroundLoop(
        "flaky", step=flaky, interval=3600.0, backoff=Backoff(0.01, 0.02), clock=clock
    )
    loop.start()
    try:
        await until("a run after two failures", lambda: loop.runs == 1)
        status = loop.status()
        assert flaky.calls == 3
        assert status.restarts == 2 and status.failures == 0
        assert status.state == "running"
        assert status.last_error == "RuntimeError (details in the server log)"
        assert status.last_error_at == status.last_ok == clock.time()
        assert status.next_run == clock.time() + 3600.0  # waits its interval now
    finally:
        await loop.stop()


async def test_backing_off_follows_the_policy_and_stops_promptly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FrozenClock(NOW)
    crashes: list[Exception] = []
    loop = BackgroundLoop(
        "crashing", step=Flaky(failures=99), backoff=Backoff(30.0, 300.0),
        on_crash=crashes.append, clock=clock,
    )  # fmt: skip
    loop.start()
    await until("backing off", lambda: loop.state is LoopState.backing_off)
    assert loop.next_run == clock.time() + 30.0  # the first failure's delay
    assert loop.restarts == 1 and len(crashes) == 1
    (record,) = [r for r in caplog.records if "loop crashing failed" in r.getMessage()]
    assert record.exc_info is not None  # the traceback is in the log
    task = loop.task
    await loop.stop()  # during the 30 s backoff
    assert task is not None and task.cancelled()
    assert loop.status().state == "stopped" and loop.next_run is None


async def test_stop_while_waiting_for_the_next_run_and_wake_runs_at_once() -> None:
    clock = FrozenClock(NOW)
    steps = Flaky(failures=0)
    loop = BackgroundLoop("slow", step=steps, interval=3600.0, clock=clock)
    loop.start()
    await until("the first run", lambda: loop.runs == 1)
    loop.wake()
    await until("a second run, woken", lambda: loop.runs == 2)
    assert loop.next_run == clock.time() + 3600.0
    await loop.stop()
    assert loop.state is LoopState.stopped and loop.task is None
    loop.start()  # a stopped loop can run again
    await until("a run after the restart", lambda: loop.runs == 3)
    await loop.stop()


async def test_the_wait_is_jittered() -> None:
    clock = FrozenClock(NOW)
    loop = BackgroundLoop(
        "jittery", step=Flaky(0), interval=100.0, jitter=0.5, clock=clock, rng=random.Random(1)
    )
    loop.start()
    await until("the first run", lambda: loop.runs == 1)
    assert loop.next_run is not None
    assert 50.0 <= loop.next_run - clock.time() <= 150.0
    assert loop.next_run - clock.time() != 100.0
    await loop.stop()


class Gate:
    """A leader gate a test can flip."""

    def __init__(self, leader: bool) -> None:
        self.leader = leader
        self.asked = 0

    async def is_leader(self) -> bool:
        """What the test set."""
        self.asked += 1
        return self.leader


async def test_a_replica_that_is_not_the_leader_does_not_run_the_step() -> None:
    gate = Gate(leader=False)
    steps = Flaky(failures=0)
    loop = BackgroundLoop("gated", step=steps, interval=3600.0, gate=gate)
    loop.start()
    try:
        await until("standing by", lambda: loop.state is LoopState.standby)
        assert steps.calls == 0 and loop.runs == 0
        gate.leader = True
        loop.wake()  # a standby waits its interval too; don't wait an hour
        await until("a run as the leader", lambda: steps.calls == 1)
        assert gate.asked >= 2
    finally:
        await loop.stop()


async def test_a_body_is_restarted_when_it_raises_and_ends_when_it_returns() -> None:
    started = 0
    finish = asyncio.Event()

    async def body() -> None:
        nonlocal started
        started += 1
        if started == 1:
            raise OSError("the stream broke")
        await finish.wait()

    loop = BackgroundLoop("body", body=body, backoff=Backoff(0.01, 0.01))
    loop.start()
    await until("the body runs again", lambda: started == 2)
    assert loop.state is LoopState.running and loop.restarts == 1
    assert loop.status().mode == "body"
    finish.set()
    await until("the body returned", lambda: loop.task is None)
    assert loop.status().state == "stopped" and loop.restarts == 1


async def test_the_registry_reports_and_stops_every_loop() -> None:
    registry = LoopRegistry()
    first = registry.start(BackgroundLoop("b-second", step=Flaky(0), interval=3600.0))
    second = registry.start(BackgroundLoop("a-first", step=Flaky(0), interval=3600.0))
    await until("both ran", lambda: first.runs == second.runs == 1)
    assert [s.name for s in registry.statuses()] == ["a-first", "b-second"]
    stranger = BackgroundLoop("a-first", step=Flaky(0))
    registry.discard(stranger)  # not the registered one: nothing happens
    assert registry.get("a-first") is second
    await registry.stop()
    assert first.task is None and second.task is None
    assert {s.state for s in registry.statuses()} == {"stopped"}
