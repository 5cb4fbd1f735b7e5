"""Swarm updates that can never finish by themselves, told apart so a deploy can end.

Swarm's updater and scheduler wait without limit in two cases a deploy must not sit through:

- **a node the manager sees as down** holds a task of the service: the task never reports
  again, and the updater waits for it until the node returns (which may be never);
- **no node can take a task** (``no suitable node``: a placement constraint nobody
  satisfies, resources nobody has): the task stays pending.

Each is reported only after it has lasted a grace period (the manager may reschedule, a node
may come back, a label may be added), so a passing blip does not fail a deploy. A replaced
task that still runs (desired state shutdown, observed running) on a node that is up is
awaited: a deploy is done only once the old tasks have stopped, except on down nodes, where
nothing will ever report them stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: How long tasks may sit on a down node before the deploy ends naming the node.
DOWN_NODE_GRACE_S = 10.0
#: How long a task may wait for a node none can offer before the deploy gives up.
UNPLACEABLE_GRACE_S = 15.0
#: Node states (the manager's view) in which a node's tasks will not report back.
DOWN_STATES = frozenset({"down", "disconnected"})
#: Task states from which a task does not move any more.
TERMINAL = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})
#: Observed states of a replaced task that still holds its container.
STILL_RUNNING = frozenset({"running", "starting"})
NO_SUITABLE_NODE = "no suitable node"


def docker_time(raw: Any) -> datetime | None:
    """Docker's RFC 3339 time (nanoseconds, ``Z``) as an aware UTC datetime."""
    if not isinstance(raw, str) or not raw:
        return None
    head, _, frac = raw.rstrip("Z").partition(".")
    try:
        parsed = datetime.fromisoformat(head + ("." + frac[:6] if frac else ""))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC)


def down_nodes(node_states: dict[str, str] | None) -> set[str]:
    """Nodes (by hostname) the manager has lost."""
    return {name for name, state in (node_states or {}).items() if state in DOWN_STATES}


def _mine(service: dict[str, Any], tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in tasks if t.get("ServiceID") == service.get("ID")]


def stuck_on_down_nodes(
    service: dict[str, Any], tasks: list[dict[str, Any]], down: set[str], since: datetime
) -> list[str]:
    """Down nodes holding tasks the update needs: ones meant to run, or touched by it.

    A task left on a node that went down long ago (desired shutdown, last seen running) is
    not counted unless this deploy changed it: Swarm's updater does not wait for those.
    """
    nodes = {
        str(t.get("node"))
        for t in _mine(service, tasks)
        if t.get("node") in down
        and (
            t.get("desired_state") == "running"
            or (
                t.get("state") not in TERMINAL
                and (docker_time(t.get("updated_at")) or since) >= since
            )
        )
    }
    return sorted(nodes)


def lingering(service: dict[str, Any], tasks: list[dict[str, Any]], down: set[str]) -> int:
    """Replaced tasks still running on nodes that are up (the deploy waits for them)."""
    return sum(
        1
        for t in _mine(service, tasks)
        if t.get("desired_state") not in ("running", "")
        and t.get("state") in STILL_RUNNING
        and t.get("node") not in down
    )


def unplaceable(current: list[dict[str, Any]]) -> str:
    """Swarm's reason when a task meant to run waits for a node none can offer."""
    for task in current:
        reason = str(task.get("error") or "")
        if task.get("state") == "pending" and NO_SUITABLE_NODE in reason:
            return reason
    return ""


@dataclass
class StallClock:
    """When each kind of stall was first seen in an unbroken run of snapshots."""

    first_seen: dict[str, float] = field(default_factory=dict)

    def lasted(self, kind: str, present: bool, now: float, grace: float) -> bool:
        """Note whether ``kind`` is present now; answer whether it has lasted ``grace``."""
        if not present:
            self.first_seen.pop(kind, None)
            return False
        start = self.first_seen.setdefault(kind, now)
        return now - start >= grace
