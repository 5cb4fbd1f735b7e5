"""What the healer does about one container now: a pure function of its track and what is seen.

:func:`observe` takes a container's :class:`Track` (what the healer remembers of it), its
policy, what the inventory says now and whether something holds healing back, and returns a
:class:`Verdict`. It never sleeps and never reads a clock: the healer passes ``now`` and
carries out the verdict, so every rule here is tested without waiting.

The rules, in order:

1. Only a *running* container that Docker calls *unhealthy* is a candidate. A stopped,
   exited, paused or restarting container is left alone (a deliberate ``docker stop`` or
   ``fleetdeck stop`` is never fought), as is one still ``starting``.
2. A container that is crash-looping stays so until it reports healthy (it recovered) or a
   person resets it.
3. Something holding healing back (the node is not up, a deploy of its stack is running, its
   environment is in a maintenance window) means wait: nothing is counted.
4. ``max_restarts`` restarts within ``window`` already: declare it crash-looping.
5. Otherwise restart once the grace period since it turned unhealthy and the backoff since
   the last restart have both passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetdeck.server.heal.policy import HealPolicy


class Phase(StrEnum):
    """Where a watched container stands (the API's ``phase``)."""

    watching = "watching"
    waiting = "waiting"
    held = "held"
    crash_looping = "crash_looping"
    disabled = "disabled"


class Action(StrEnum):
    """What a verdict asks the healer to do."""

    none = "none"
    wait = "wait"
    hold = "hold"
    restart = "restart"
    crash_loop = "crash_loop"
    recovered = "recovered"


@dataclass
class Track:
    """What the healer remembers of one container (kept in ``heal_states`` across restarts)."""

    container_id: str
    environment: str
    node: str
    name: str
    #: Epoch seconds of the restarts the healer issued (only those within the window kept).
    restarts: list[float] = field(default_factory=list)
    #: Restarts since the container was last healthy for ``reset_after``.
    streak: int = 0
    last_restart: float | None = None
    crash_looping_since: float | None = None
    #: In memory only: when the current unhealthy (or healthy) spell began.
    unhealthy_since: float | None = None
    healthy_since: float | None = None
    #: In memory only: the phase, its reason and the next restart's time (for the views).
    phase: Phase = Phase.watching
    reason: str = ""
    next_at: float | None = None

    def in_window(self, window: float, now: float) -> list[float]:
        """The restarts within ``window`` seconds before ``now``."""
        return [t for t in self.restarts if now - t < window]


@dataclass(frozen=True)
class Seen:
    """What the inventory says of the container now, and what holds healing back."""

    state: str
    health: str | None
    #: Why healing waits (``deploy of shop in progress``…); None: nothing holds it.
    held: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The healer's next step for one container, and why."""

    action: Action
    reason: str = ""
    #: For ``wait``: the epoch second the restart is due.
    at: float | None = None


def _health_spells(track: Track, policy: HealPolicy, seen: Seen, now: float) -> None:
    """Keep the healthy/unhealthy spells; forget a streak after ``reset_after`` healthy."""
    if seen.state == "running" and seen.health == "healthy":
        track.unhealthy_since = None
        if track.healthy_since is None:
            track.healthy_since = now
        if track.streak and now - track.healthy_since >= policy.reset_after:
            track.streak = 0
        return
    if seen.state == "running" and seen.health == "unhealthy":
        if track.unhealthy_since is None:
            track.unhealthy_since = now
            healthy_for = now - track.healthy_since if track.healthy_since is not None else 0.0
            if track.streak and healthy_for >= policy.reset_after:
                track.streak = 0
        track.healthy_since = None
        return
    track.unhealthy_since = None
    if seen.health != "healthy":
        track.healthy_since = None


def observe(track: Track, policy: HealPolicy, seen: Seen, now: float) -> Verdict:
    """The next step for the container of ``track`` (and the track brought up to date).

    ``track.phase``, ``reason`` and ``next_at`` are set for the views; the caller applies a
    ``restart`` or ``crash_loop`` (and records it) with :func:`restarted` /
    :func:`crash_looped`.
    """
    _health_spells(track, policy, seen, now)
    track.next_at = None
    if track.crash_looping_since is not None:
        if seen.state == "running" and seen.health == "healthy":
            track.crash_looping_since = None
            track.restarts, track.streak = [], 0
            track.phase, track.reason = Phase.watching, "recovered: healthy again"
            return Verdict(Action.recovered, "healthy again after crash-looping")
        track.phase = Phase.crash_looping
        return Verdict(Action.none, track.reason)
    if not policy.enabled:
        track.phase, track.reason = Phase.disabled, "no enabled policy"
        return Verdict(Action.none)
    if seen.state != "running" or seen.health != "unhealthy":
        track.phase = Phase.watching
        track.reason = f"{seen.state}, {seen.health or 'no health check'}"
        return Verdict(Action.none)
    if seen.held is not None:
        track.phase, track.reason = Phase.held, seen.held
        return Verdict(Action.hold, seen.held)
    track.restarts = track.in_window(policy.window, now)
    count = len(track.restarts)
    if count >= policy.max_restarts:
        reason = (
            f"unhealthy again after {count} restarts within {policy.window:g}s: "
            "restarting does not help"
        )
        return Verdict(Action.crash_loop, reason)
    since = track.unhealthy_since if track.unhealthy_since is not None else now
    due = since + policy.grace
    wait = policy.delay(track.streak)
    if track.last_restart is not None:
        due = max(due, track.last_restart + wait)
    if due > now:
        track.phase, track.next_at = Phase.waiting, due
        track.reason = f"unhealthy; restart {count + 1} of {policy.max_restarts} due"
        return Verdict(Action.wait, track.reason, at=due)
    reason = f"unhealthy for {now - since:.1f}s; restart {count + 1} of {policy.max_restarts}"
    if track.streak:
        reason += f" (backoff {wait:g}s after the last)"
    return Verdict(Action.restart, reason)


def restarted(track: Track, now: float) -> None:
    """A restart was issued at ``now``: count it, start a new unhealthy spell."""
    track.restarts.append(now)
    track.streak += 1
    track.last_restart = now
    track.unhealthy_since = None
    track.phase = Phase.watching


def crash_looped(track: Track, reason: str, now: float) -> None:
    """The container was declared crash-looping at ``now``."""
    track.crash_looping_since = now
    track.phase, track.reason, track.next_at = Phase.crash_looping, reason, None


def reset(track: Track) -> None:
    """A person reset the container: no crash loop, no streak, no counted restarts."""
    track.crash_looping_since = None
    track.restarts, track.streak, track.last_restart = [], 0, None
    track.unhealthy_since = None
    track.phase, track.reason, track.next_at = Phase.watching, "reset", None
