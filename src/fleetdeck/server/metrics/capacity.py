"""The capacity report: per node p50/p95 CPU and memory over a window, headroom, and limits.

Figures come from the metrics history at the resolution the window calls for (see
:mod:`fleetdeck.server.metrics.query`), about :data:`POINTS` steps over the window.
Percentiles are nearest-rank percentiles of the per-step averages, so a spike shorter than a
step is smoothed (the step is in the answer). For each running container of a node it lists
the ones with no memory or no CPU limit (the agent reports the host's memory as the ceiling
of a container without a memory limit, and no ``cpu_limit_cores`` without a CPU quota) and
those whose limit is at least :data:`OVERSIZE_FACTOR` times their p95 use.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fleetdeck.clock import SYSTEM
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.metrics.query import ALL, MetricsQuery

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.metrics.retention import Retention
    from fleetdeck.server.store import Store

POINTS = 500
#: A limit at least this many times the p95 use is reported as far above use.
OVERSIZE_FACTOR = 4.0
MIN_WINDOW = timedelta(minutes=15)
MAX_WINDOW = timedelta(days=90)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(p / 100.0 * len(ordered)), 1)
    return ordered[rank - 1]


class CapacityReporter:
    """Builds the report from the store (history) and the fleet (what runs now).

    Args:
        store: The server's store.
        fleet: The fleet (environments, nodes, running containers).
        retention: The metrics retention (which resolution reaches back how far).
        clock: The present, where the window ends unless a report names its end.
    """

    def __init__(
        self, store: Store, fleet: Fleet, retention: Retention, clock: Clock = SYSTEM
    ) -> None:
        self.store = store
        self.clock = clock
        self.fleet = fleet
        self.retention = retention

    async def report(
        self, window: timedelta, environment: str | None = None, now: datetime | None = None
    ) -> dict[str, Any]:
        """The capacity report over ``window`` up to ``now``, optionally for one environment."""
        if not MIN_WINDOW <= window <= MAX_WINDOW:
            raise InvalidInputError("the window must be between 15m and 90d")
        if environment is not None:
            self.fleet.require_environment(environment)
        end = now or self.clock.now()
        start = end - window
        step = max(10, math.ceil(window.total_seconds() / POINTS))
        nodes = []
        for view in sorted(self.fleet.views(), key=lambda v: v.name):
            if environment is not None and view.name != environment:
                continue
            for node in view.nodes:
                span = (start, end, step)
                nodes.append(await self._node(view.name, node.name, node.status, span))
        return {
            "window": _duration_text(window),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "step": step,
            "oversize_factor": OVERSIZE_FACTOR,
            "nodes": nodes,
        }

    async def _values(
        self, target: str, metric: str, span: tuple[datetime, datetime, int]
    ) -> tuple[dict[str, list[float]], int]:
        """Per-step averages of ``metric`` by container name ("" for the host), and the step."""
        start, end, step = span
        query = MetricsQuery.build(
            target, metric, start.isoformat(), end.isoformat(), step, now=end,
            retention=self.retention,
        )  # fmt: skip
        result = await query.run(self.store)
        out: dict[str, list[float]] = {}
        for series in result["series"]:
            out.setdefault(series["target"] or "", []).extend(p["value"] for p in series["points"])
        return out, query.step

    async def _node(
        self, environment: str, node: str, status: str, span: tuple[datetime, datetime, int]
    ) -> dict[str, Any]:
        host = f"{environment}/{node}"
        cpu, step = await self._values(host, "cpu_cores", span)
        mem, _ = await self._values(host, "memory_used_bytes", span)
        cpus = _newest((await self._values(host, "cpu_count", span))[0], "")
        total = _newest((await self._values(host, "memory_total_bytes", span))[0], "")
        cpu_p95 = percentile(cpu.get("", []), 95)
        mem_p95 = percentile(mem.get("", []), 95)
        return {
            "environment": environment,
            "node": node,
            "status": status,
            "step": step,
            "samples": len(cpu.get("", [])),
            "cpu_count": cpus,
            "cpu_cores_p50": percentile(cpu.get("", []), 50),
            "cpu_cores_p95": cpu_p95,
            "cpu_headroom_cores": _minus(cpus, cpu_p95),
            "memory_total_bytes": total,
            "memory_used_bytes_p50": percentile(mem.get("", []), 50),
            "memory_used_bytes_p95": mem_p95,
            "memory_headroom_bytes": _minus(total, mem_p95),
            "containers": await self._containers(host, environment, node, total, span),
        }

    def _running(self, environment: str, node: str) -> list[str]:
        state = self.fleet.inventory.find_node(environment, node)
        if state is None:
            return []
        return sorted(c.name for c in state.containers.values() if c.state == "running")

    async def _containers(
        self,
        host: str,
        environment: str,
        node: str,
        host_memory: float | None,
        span: tuple[datetime, datetime, int],
    ) -> list[dict[str, Any]]:
        every = f"{host}/{ALL}"
        cpu, _ = await self._values(every, "cpu_cores", span)
        memory, _ = await self._values(every, "memory_working_set_bytes", span)
        cpu_limit, _ = await self._values(every, "cpu_limit_cores", span)
        memory_limit, _ = await self._values(every, "memory_limit_bytes", span)
        out = []
        for name in self._running(environment, node):
            mem_cap = _newest(memory_limit, name)
            if mem_cap is not None and host_memory and mem_cap >= host_memory:
                mem_cap = None  # no limit: the agent reports the host's memory
            cpu_cap = _newest(cpu_limit, name)
            row: dict[str, Any] = {
                "container": name,
                "cpu_cores_p95": percentile(cpu.get(name, []), 95),
                "cpu_limit_cores": cpu_cap,
                "memory_working_set_bytes_p95": percentile(memory.get(name, []), 95),
                "memory_limit_bytes": mem_cap,
            }
            row["no_limits"] = [k for k, v in (("cpu", cpu_cap), ("memory", mem_cap)) if v is None]
            row["limits_far_above_use"] = _oversized(row)
            out.append(row)
        return out


def _oversized(row: dict[str, Any]) -> list[str]:
    """``cpu`` / ``memory`` when the limit is at least OVERSIZE_FACTOR × the p95 use."""
    found = []
    for kind, use, cap in (
        ("cpu", row["cpu_cores_p95"], row["cpu_limit_cores"]),
        ("memory", row["memory_working_set_bytes_p95"], row["memory_limit_bytes"]),
    ):
        if cap is not None and use is not None and cap >= OVERSIZE_FACTOR * use:
            found.append(kind)
    return found


def _newest(values: dict[str, list[float]], name: str) -> float | None:
    series = values.get(name)
    return series[-1] if series else None


def _minus(capacity: float | None, used: float | None) -> float | None:
    return None if capacity is None or used is None else capacity - used


def _duration_text(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
