"""What the evaluator reads besides the inventory: latest samples and restart history.

:class:`LatestFigures` keeps the newest metrics message of every node, flattened (it is fed
from the fleet hub's ``MetricsBatch`` events, after the metrics writer): the metrics part's
:class:`~fleetdeck.server.metrics.latest.LatestSamples`, whose figures are *fresh* only for a
few of the node's sampling intervals (a partitioned node's last CPU figure must not keep an
alert firing, or start one, long after it was taken).

:class:`RestartHistory` remembers each container's restart count over time, so a restart
loop (N restarts in M minutes) is a difference of two counts.
"""

from __future__ import annotations

from collections import deque

from fleetdeck.server.metrics.latest import MIN_STALE_S, STALE_INTERVALS, LatestSamples

#: Longest restart-loop window remembered.
MAX_WINDOW_S = 86400.0


class LatestFigures(LatestSamples):
    """The newest flattened metrics of each node (the evaluator reads only fresh ones)."""


class RestartHistory:
    """Restart counts per container over time (from the inventory, at each evaluation)."""

    def __init__(self) -> None:
        self._seen: dict[str, deque[tuple[float, int]]] = {}

    def observe(self, container_id: str, count: int, now: float) -> None:
        """Record the container's restart count now (only changes are kept)."""
        history = self._seen.setdefault(container_id, deque())
        if not history or history[-1][1] != count:
            history.append((now, count))
        while len(history) > 1 and history[1][0] < now - MAX_WINDOW_S:
            history.popleft()

    def restarts_within(self, container_id: str, window_s: float, now: float) -> int:
        """Restarts seen in the last ``window_s`` seconds (0 for a container just met)."""
        history = self._seen.get(container_id)
        if not history:
            return 0
        start = now - window_s
        before = [count for when, count in history if when <= start]
        base = before[-1] if before else history[0][1]
        return max(0, history[-1][1] - base)

    def keep_only(self, container_ids: set[str]) -> None:
        """Forget containers that are gone."""
        for cid in set(self._seen) - container_ids:
            del self._seen[cid]


__all__ = ["MAX_WINDOW_S", "MIN_STALE_S", "STALE_INTERVALS", "LatestFigures", "RestartHistory"]
