"""The metrics fleetdeck keeps: names, units, what they apply to, and message flattening.

An agent's ``metrics`` message (see ``docs/dev/fleet-core.md``) is nested: host figures,
``filesystems`` by mount point, ``interfaces`` by name, and containers by id.
:func:`flatten` turns it into rows of one value each; only names in :data:`METRICS` are kept,
so what the query API accepts and what the store holds are the same list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

HOST = "host"
CONTAINER = "container"


@dataclass(frozen=True)
class MetricInfo:
    """What one metric is."""

    name: str
    unit: str
    kinds: tuple[str, ...]
    description: str
    instance: str | None = None  # what the instance label is (mount point, interface)


def _m(name: str, unit: str, kinds: str, text: str, instance: str | None = None) -> MetricInfo:
    return MetricInfo(name, unit, tuple(kinds.split(",")), text, instance)


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        _m("cpu_cores", "cores", "host,container", "CPU used, in cores"),
        _m("cpu_percent", "%", "host,container", "CPU used, % of the host or of the limit"),
        _m("cpu_limit_cores", "cores", "container", "CPU limit (CFS quota), in cores"),
        _m("cpu_count", "cores", "host", "CPUs of the host"),
        _m("load1", "", "host", "load average over 1 minute"),
        _m("load5", "", "host", "load average over 5 minutes"),
        _m("load15", "", "host", "load average over 15 minutes"),
        _m("memory_total_bytes", "bytes", "host", "memory of the host"),
        _m("memory_available_bytes", "bytes", "host", "memory available (cache, ARC count)"),
        _m("memory_used_bytes", "bytes", "host", "memory used (total - available)"),
        _m("memory_percent", "%", "host,container", "memory used, % of total or of the limit"),
        _m("memory_working_set_bytes", "bytes", "container", "memory used without page cache"),
        _m("memory_usage_bytes", "bytes", "container", "memory charged, page cache included"),
        _m("memory_limit_bytes", "bytes", "container", "memory limit (the host's if none)"),
        _m("pids", "", "container", "processes and threads"),
        _m("restart_count", "", "container", "restarts by the engine"),
        _m("blkio_read_bytes_per_s", "bytes/s", "container", "block device reads"),
        _m("blkio_write_bytes_per_s", "bytes/s", "container", "block device writes"),
        _m("net_rx_bytes_per_s", "bytes/s", "host,container", "received", "interface"),
        _m("net_tx_bytes_per_s", "bytes/s", "host,container", "sent", "interface"),
        _m("fs_size_bytes", "bytes", "host", "filesystem size", "mount"),
        _m("fs_used_bytes", "bytes", "host", "filesystem space used", "mount"),
        _m("fs_used_percent", "%", "host", "filesystem space used, %", "mount"),
        _m("fs_inodes_used", "", "host", "filesystem inodes used", "mount"),
        _m("fs_inodes_percent", "%", "host", "filesystem inodes used, %", "mount"),
    )
}

#: (kind, target id, target name, metric, instance, value)
Row = tuple[str, str, str, str, str, float]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _values(
    out: list[Row], kind: str, target: tuple[str, str], values: Any, instance: str = ""
) -> None:
    if not isinstance(values, dict):
        return
    for name, raw in values.items():
        value = _number(raw)
        if value is not None and name in METRICS and kind in METRICS[name].kinds:
            out.append((kind, target[0], target[1], name, instance, value))


def flatten(node: str, message: dict[str, Any]) -> tuple[int, list[Row]]:
    """A metrics message as (epoch seconds, rows); ValueError if it has no valid time."""
    ts = int(datetime.fromisoformat(str(message["time"])).timestamp())
    rows: list[Row] = []
    host = message.get("host") or {}
    if isinstance(host, dict):
        _values(rows, HOST, ("", node), host)
        for group in ("filesystems", "interfaces"):
            for instance, values in (host.get(group) or {}).items():
                _values(rows, HOST, ("", node), values, str(instance))
    for container_id, values in (message.get("containers") or {}).items():
        if isinstance(values, dict):
            name = str(values.get("name") or container_id[:12])
            _values(rows, CONTAINER, (str(container_id), name), values)
    return ts, rows
