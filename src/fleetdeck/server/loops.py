"""Background loops: the one way the server runs a long-lived task, supervised and visible.

Every part that works in the background (metrics writer and retention, logs watcher, writer,
pruner and followers, alert evaluator and deliveries, agent links, local agents, the UI's
change feed) runs it as a :class:`BackgroundLoop` instead of a hand-made ``create_task`` and
``while True``. That gives each of them the same guarantees:

- **Supervision.** An exception from the work is logged with its traceback, counted, kept
  (as a safe one-line message) for the health report, and the work is run again after an
  exponential :class:`Backoff`, never left dead. Only cancellation ends a loop.
- **Two shapes.** *Periodic*: a ``step`` coroutine is run, then the loop waits ``interval``
  seconds (± ``jitter``, so many replicas or loops do not run in lockstep) or until
  :meth:`BackgroundLoop.wake` is called; a step that waits on a queue itself is a consumer
  (``interval=0``). *Body*: a long-running coroutine (an agent's stream, a child process'
  supervisor) that is restarted with backoff if it raises, and whose return ends the loop.
- **A leader gate.** Before each run the loop asks its :class:`LeaderGate`; a replica that is
  not the leader stands by. One server process is always the leader (:class:`AlwaysLeader`);
  a replicated store would pass a gate backed by a database lease, and every loop is ready.
- **Prompt stop.** :meth:`BackgroundLoop.stop` cancels and awaits, bounded, so a shutdown
  never hangs on a loop.

A :class:`LoopRegistry` (``ServerContext.loops``, made in :func:`~fleetdeck.server.app.create_app`)
holds the loops so that ``GET /api/v1/health`` (to a logged-in caller) and ``/metrics`` report
each one's state, and stops whatever is still running at the end of the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from fleetdeck.clock import SYSTEM
from fleetdeck.errors import FleetdeckError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.clock import Clock

log = logging.getLogger(__name__)

#: Longest :meth:`BackgroundLoop.stop` waits for a cancelled loop to finish.
STOP_TIMEOUT_S = 5.0
#: Longest the one-line error kept for the health report.
MAX_ERROR_CHARS = 200


class LeaderGate(Protocol):
    """Says whether this server replica is the one that runs a loop."""

    async def is_leader(self) -> bool:
        """True when this replica should run the loop now."""
        ...


class AlwaysLeader:
    """One server replica: always the leader (the hook for a store-backed lease later)."""

    async def is_leader(self) -> bool:
        """Always True."""
        return True


class LoopState(StrEnum):
    """Where a loop is."""

    stopped = "stopped"  # not started, stopped, or a body that returned
    running = "running"  # working, or waiting for its next run
    backing_off = "backing-off"  # the work raised; waiting before it runs again
    standby = "standby"  # not the leader: the work does not run here


@dataclass(frozen=True)
class Backoff:
    """Delays after consecutive failures: ``min_s × factor^(n-1)``, capped at ``max_s``."""

    min_s: float = 1.0
    max_s: float = 60.0
    factor: float = 2.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1 is the first)."""
        return float(min(self.max_s, self.min_s * self.factor ** max(0, failures - 1)))


def jittered(interval: float, jitter: float, rng: random.Random) -> float:
    """``interval`` moved by up to ± ``jitter`` of itself (a fraction in [0, 1])."""
    if interval <= 0 or jitter <= 0:
        return max(0.0, interval)
    return interval * (1.0 + rng.uniform(-jitter, jitter))


def safe_error(exc: BaseException) -> str:
    """A one-line description of ``exc`` fit for an API caller (the traceback stays in the log).

    fleetdeck's own errors are written for users; any other exception may carry internals
    (SQL, paths, addresses), so only its type is told.
    """
    if isinstance(exc, FleetdeckError):
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        text = f"{type(exc).__name__} (details in the server log)"
    return text[:MAX_ERROR_CHARS]


@dataclass(frozen=True)
class LoopStatus:
    """A loop's state as the health report and ``/metrics`` show it (times are epoch seconds)."""

    name: str
    mode: str
    state: str
    interval_s: float
    runs: int
    restarts: int
    failures: int
    last_ok: float | None
    last_error: str | None
    last_error_at: float | None
    next_run: float | None

    def as_dict(self) -> dict[str, Any]:
        """The status as a JSON-ready dict."""
        return asdict(self)


class BackgroundLoop:
    """One supervised background task: a periodic ``step`` or a long-running ``body``.

    Args:
        name: Shown in logs, the health report and ``/metrics`` (``metrics-retention``,
            ``link prod/node1``).
        step: Periodic mode: one run of the work.
        body: Body mode: the whole work; returning ends the loop, raising restarts it.
        interval: Seconds between the end of a step and the next (0: at once).
        jitter: Fraction of ``interval`` each wait is moved by at random (0.1: ± 10 %).
        min_gap: Seconds always waited after a step, even when woken (bursts make one run).
        backoff: Delays after failures in a row.
        healthy_after: Body mode: a body that ran this long before failing starts the backoff
            over (default: ``backoff.max_s``).
        gate: Asked before each run; not the leader means stand by for ``interval`` (or
            ``backoff.max_s`` when there is no interval) and ask again.
        on_crash: Called with the exception after a failure is logged (e.g. mark a node
            unreachable); its own failure is logged and ignored.
        clock: The present of the reported times.
        rng: The source of jitter (a seeded one in tests).
    """

    def __init__(
        self,
        name: str,
        *,
        step: Callable[[], Awaitable[None]] | None = None,
        body: Callable[[], Awaitable[None]] | None = None,
        interval: float = 0.0,
        jitter: float = 0.0,
        min_gap: float = 0.0,
        backoff: Backoff | None = None,
        healthy_after: float | None = None,
        gate: LeaderGate | None = None,
        on_crash: Callable[[Exception], None] | None = None,
        clock: Clock = SYSTEM,
        rng: random.Random | None = None,
    ) -> None:
        if (step is None) == (body is None):
            raise ValueError("a loop has either a step or a body")
        if interval < 0 or min_gap < 0 or not 0 <= jitter <= 1:
            raise ValueError("interval and min_gap must be >= 0, jitter within [0, 1]")
        self.name = name
        self._step, self._body = step, body
        self.interval, self.jitter, self.min_gap = interval, jitter, min_gap
        self.backoff = backoff or Backoff()
        self.healthy_after = self.backoff.max_s if healthy_after is None else healthy_after
        self.gate: LeaderGate = gate or AlwaysLeader()
        self.on_crash = on_crash
        self.clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - spreading timers, not secrets
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.state = LoopState.stopped
        self.runs = self.restarts = self.failures = 0
        self.last_ok: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.next_run: float | None = None

    @property
    def mode(self) -> str:
        """``periodic`` or ``body``."""
        return "periodic" if self._step is not None else "body"

    def start(self) -> None:
        """Run the loop in the background (a second call while it runs does nothing)."""
        if self.task is None or self.task.done():
            self.state = LoopState.running
            self.task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Cancel the loop and wait (at most ``timeout``) until it has ended."""
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                log.warning("loop %s did not stop within %.0fs; left behind", self.name, timeout)
        self.state, self.next_run = LoopState.stopped, None

    def wake(self) -> None:
        """Cut the current wait short: the next step runs now (after ``min_gap``)."""
        self._wake.set()

    def status(self) -> LoopStatus:
        """A snapshot of the loop's state."""
        return LoopStatus(
            self.name, self.mode, self.state.value, self.interval, self.runs, self.restarts,
            self.failures, self.last_ok, self.last_error, self.last_error_at, self.next_run,
        )  # fmt: skip

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            started = asyncio.get_running_loop().time()
            try:
                if not await self.gate.is_leader():
                    self.state = LoopState.standby
                    await self._pause(self.interval or self.backoff.max_s, wakeable=True)
                    continue
                self.state, self.next_run = LoopState.running, None
                await (self._step or self._body)()  # type: ignore[misc]
            except Exception as exc:  # noqa: BLE001 - supervising is the point
                ran = asyncio.get_running_loop().time() - started
                if self._body is not None and ran >= self.healthy_after:
                    self.failures = 0
                await self._pause(self._failed(exc), wakeable=False)
                continue
            if self._body is not None:
                self.state, self.next_run = LoopState.stopped, None
                self.task = None
                return
            self.runs, self.failures, self.last_ok = self.runs + 1, 0, self.clock.time()
            await self._pause(jittered(self.interval, self.jitter, self._rng), wakeable=True)
            if self.min_gap:
                await asyncio.sleep(self.min_gap)

    def _failed(self, exc: Exception) -> float:
        """Record a failure; return the backoff before the next run."""
        self.failures += 1
        self.restarts += 1
        self.state = LoopState.backing_off
        self.last_error, self.last_error_at = safe_error(exc), self.clock.time()
        delay = self.backoff.delay(self.failures)
        log.exception(
            "loop %s failed unexpectedly (%d in a row); restarting it in %.1fs",
            self.name,
            self.failures,
            delay,
        )
        if self.on_crash is not None:
            try:
                self.on_crash(exc)
            except Exception:
                log.exception("loop %s: its crash handler failed", self.name)
        return delay

    async def _pause(self, seconds: float, *, wakeable: bool) -> None:
        if seconds <= 0:
            self.next_run = None
            await asyncio.sleep(0)  # a consumer's step waits itself; let others run
            return
        self.next_run = self.clock.time() + seconds
        if not wakeable:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


class LoopRegistry:
    """Every background loop of the server, for the health report, ``/metrics`` and shutdown."""

    def __init__(self) -> None:
        self._loops: dict[str, BackgroundLoop] = {}

    def add(self, loop: BackgroundLoop) -> BackgroundLoop:
        """Track ``loop`` (a loop of the same name is replaced); returns it."""
        self._loops[loop.name] = loop
        return loop

    def start(self, loop: BackgroundLoop) -> BackgroundLoop:
        """Track ``loop`` and start it."""
        self.add(loop).start()
        return loop

    def discard(self, loop: BackgroundLoop) -> None:
        """Stop tracking ``loop`` (not one that replaced it under the same name)."""
        if self._loops.get(loop.name) is loop:
            del self._loops[loop.name]

    def get(self, name: str) -> BackgroundLoop | None:
        """The loop called ``name``, if tracked."""
        return self._loops.get(name)

    def statuses(self) -> list[LoopStatus]:
        """Every tracked loop's status, by name."""
        return [self._loops[name].status() for name in sorted(self._loops)]

    async def stop(self) -> None:
        """Stop every tracked loop still running (the lifespan's last step)."""
        running = [loop for loop in self._loops.values() if loop.task is not None]
        await asyncio.gather(*(loop.stop() for loop in running))


__all__ = [
    "AlwaysLeader",
    "Backoff",
    "BackgroundLoop",
    "LeaderGate",
    "LoopRegistry",
    "LoopState",
    "LoopStatus",
    "jittered",
    "safe_error",
]
