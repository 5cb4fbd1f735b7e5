"""A container's status text ("Up 30 minutes (healthy)"), worked out when it is shown.

Docker's ``Status`` text is relative to the moment the engine answered: an inventory that
keeps it shows "Up 2 seconds" for a container that has run for hours, and the agent rightly
does not resend a container whose text changed with the clock alone. So the text is derived
again from the container's state, start and finish times, exit code and health whenever it
is served, with the same words and rounding as Docker (``State.String`` and go-units'
``HumanDuration``), so that it reads as ``docker ps`` would say it now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from fleetdeck.wire.containers import EngineContainer

_MINUTE = 60
_HOUR = 3600


def human_duration(seconds: float) -> str:
    """Docker's wording of a duration ("Less than a second", "About a minute", "3 days")."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < _MINUTE:
        return f"{whole} seconds"
    minutes = whole // _MINUTE
    if minutes == 1:
        return "About a minute"
    if minutes < _MINUTE:
        return f"{minutes} minutes"
    hours = int(seconds / _HOUR + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / _HOUR) // 24 // 365} years"


def _health(health: str | None) -> str:
    if not health:
        return ""
    return " (health: starting)" if health == "starting" else f" ({health})"


def status_text(container: EngineContainer, now: datetime) -> str:
    """The status text of ``container`` at ``now``, as Docker would word it then.

    Falls back on the text the engine gave when a fact it needs is missing (an older agent
    that does not send finish times or exit codes).
    """
    state, started = container.state, container.started_at
    since_start = human_duration((now - started).total_seconds()) if started else None
    finished = container.finished_at
    since_finish = human_duration((now - finished).total_seconds()) if finished else None
    if state == "running" and since_start:
        return f"Up {since_start}{_health(container.health)}"
    if state == "paused" and since_start:
        return f"Up {since_start} (Paused)"
    if state in ("restarting", "exited") and since_finish and container.exit_code is not None:
        word = "Restarting" if state == "restarting" else "Exited"
        return f"{word} ({container.exit_code}) {since_finish} ago"
    fixed = {"created": "Created", "dead": "Dead", "removing": "Removal In Progress"}
    return fixed.get(state, container.status)
