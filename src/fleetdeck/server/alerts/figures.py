"""What the evaluator reads besides the inventory: latest samples and restart history.

:class:`LatestFigures` keeps the newest metrics message of every node, flattened (it is fed
from the inventory's ``metrics_sink`` next to the metrics writer). A node's figures are
*fresh* only for a few of its sampling intervals: a partitioned node's last CPU figure must
not keep an alert firing (or start one) long after it was taken.

:class:`RestartHistory` remembers each container's restart count over time, so a restart
loop (N restarts in M minutes) is a difference of two counts.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from fleetdeck.server.metrics.catalog import Row, flatten

#: Figures older than this many sampling intervals are stale (and never younger than
#: :data:`MIN_STALE_S`, so a default 10 s interval allows a minute of lateness).
STALE_INTERVALS = 3
MIN_STALE_S = 60.0
#: Longest restart-loop window remembered.
MAX_WINDOW_S = 86400.0


class LatestFigures:
    """The newest flattened metrics of each node, with their sample time."""

    def __init__(self) -> None:
        self._by_node: dict[tuple[str, str], tuple[int, list[Row]]] = {}
        self._interval: dict[tuple[str, str], float] = {}

    def offer(self, environment: str, node: str, message: dict[str, Any]) -> bool:
        """Keep ``message`` if newer than what the node had; True when it was kept."""
        try:
            ts, rows = flatten(node, message)
        except (KeyError, ValueError, TypeError):
            return False
        key = (environment, node)
        previous = self._by_node.get(key)
        if previous is not None and ts <= previous[0]:
            return False  # a replay after a reconnect: history, not news
        if previous is not None:
            self._interval[key] = float(ts - previous[0])
        self._by_node[key] = (ts, rows)
        return True

    def known(self, environment: str, node: str) -> bool:
        """Whether the node sent any figures since the server started."""
        return (environment, node) in self._by_node

    def fresh_rows(self, environment: str, node: str, now: float) -> list[Row]:
        """The node's latest rows if they are recent enough, else nothing."""
        key = (environment, node)
        entry = self._by_node.get(key)
        if entry is None:
            return []
        stale_after = max(MIN_STALE_S, STALE_INTERVALS * self._interval.get(key, 0.0))
        return entry[1] if now - entry[0] <= stale_after else []

    def forget(self, environment: str, node: str) -> None:
        """Drop a node (removed from the fleet)."""
        self._by_node.pop((environment, node), None)
        self._interval.pop((environment, node), None)


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
