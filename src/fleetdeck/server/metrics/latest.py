"""The newest metrics message of every node, flattened, with its sample time.

One class serves three readers: ``/metrics`` (every node heard from), the alert evaluator
and the dashboard's node table (only *fresh* figures). A node's figures are fresh for a few
of its sampling intervals only: a partitioned node's last CPU figure must not keep an alert
firing, nor show on the dashboard as if it were current, long after it was taken.
"""

from __future__ import annotations

from typing import Any

from fleetdeck.server.metrics.catalog import Row, flatten

#: Figures older than this many sampling intervals are stale (and never younger than
#: :data:`MIN_STALE_S`, so a default 10 s interval allows a minute of lateness).
STALE_INTERVALS = 3
MIN_STALE_S = 60.0


class LatestSamples:
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

    def items(self) -> list[tuple[str, str, list[Row]]]:
        """(environment, node, rows) of every node heard from, fresh or not."""
        return [(env, node, rows) for (env, node), (_, rows) in self._by_node.items()]

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
