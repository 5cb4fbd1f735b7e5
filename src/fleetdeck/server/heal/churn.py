"""Swarm task churn: how often Swarm replaced a service's failing tasks, per service.

On a Swarm the engine itself replaces an unhealthy or crashed task, so fleetdeck does not
restart anything there: it watches. Every task container the inventory shows is filed under
its service and slot (``com.docker.swarm.task.name`` is ``SERVICE.SLOT.TASKID``). When a new
task container appears in a slot whose previous container *failed* (seen unhealthy, or exited
with a code other than what a deliberate stop leaves), that is one replacement. A service
with ``threshold`` replacements within ``window`` is crash-looping; it stops being so once a
whole window passes without one.

A rolling update replaces tasks too, but its old containers were healthy and exit with the
code of a stop (0, 137, 143): those are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fleetdeck.labels import SWARM_SERVICE, SWARM_TASK_ID, SWARM_TASK_NAME, stack_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.wire.containers import EngineContainer

#: Exit codes a deliberate stop leaves (clean exit, SIGKILL after the timeout, SIGTERM).
STOP_EXIT_CODES = (0, 137, 143)


def failed(container: EngineContainer) -> bool:
    """Whether a task container shows a failure: unhealthy, or exited with a crash's code."""
    if container.health == "unhealthy":
        return True
    if container.state in ("exited", "dead"):
        return container.exit_code is not None and container.exit_code not in STOP_EXIT_CODES
    return False


def slot_of(container: EngineContainer) -> str | None:
    """``SERVICE.SLOT`` of a task container (None for a container that is no Swarm task)."""
    if SWARM_TASK_ID not in container.labels:
        return None
    name = container.labels.get(SWARM_TASK_NAME, "")
    head, _, _task = name.rpartition(".")
    return head or None


@dataclass
class ServiceChurn:
    """One service's replacements (epoch seconds) and whether it is crash-looping."""

    environment: str
    service: str
    stack: str | None = None
    replacements: list[float] = field(default_factory=list)
    crash_looping: bool = False


@dataclass
class _Slot:
    container_id: str
    failed: bool


@dataclass(frozen=True)
class ChurnChange:
    """A service started or stopped crash-looping."""

    churn: ServiceChurn
    crash_looping: bool


class ChurnTracker:
    """Files task containers by slot and counts failure replacements per service.

    Args:
        window: Seconds replacements are counted over.
        threshold: Replacements within ``window`` that make a service crash-looping.
    """

    def __init__(self, window: float, threshold: int) -> None:
        self.window = window
        self.threshold = threshold
        self._slots: dict[tuple[str, str], _Slot] = {}
        self.services: dict[tuple[str, str], ServiceChurn] = {}

    def observe(
        self, environment: str, containers: Iterable[EngineContainer], now: float
    ) -> list[ChurnChange]:
        """Take in the task containers of one environment seen now; report state changes."""
        for container in containers:
            slot = slot_of(container)
            service = container.labels.get(SWARM_SERVICE)
            if slot is None or not service:
                continue
            key = (environment, slot)
            held = self._slots.get(key)
            if held is None or held.container_id == container.id:
                previous_failed = held.failed if held is not None else False
                self._slots[key] = _Slot(container.id, previous_failed or failed(container))
                continue
            if held.failed:
                churn = self.services.setdefault(
                    (environment, service),
                    ServiceChurn(environment, service, stack_of(container.labels)),
                )
                churn.replacements.append(now)
            self._slots[key] = _Slot(container.id, failed(container))
        return self._changes(environment, now)

    def _changes(self, environment: str, now: float) -> list[ChurnChange]:
        changes = []
        for (env, _), churn in self.services.items():
            if env != environment:
                continue
            churn.replacements = [t for t in churn.replacements if now - t < self.window]
            looping = len(churn.replacements) >= self.threshold
            if looping and not churn.crash_looping:
                churn.crash_looping = True
                changes.append(ChurnChange(churn, True))
            elif churn.crash_looping and not churn.replacements:
                churn.crash_looping = False
                changes.append(ChurnChange(churn, False))
        return changes
