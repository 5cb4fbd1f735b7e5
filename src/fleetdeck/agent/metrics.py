"""The agent's metrics sampler: cgroup and /proc counters every few seconds, never Docker's API.

Every :data:`DEFAULT_INTERVAL` seconds :class:`MetricsSampler` reads, for each running
container of the inventory, its cgroup files (v1 or v2, found from ``/proc/<pid>/cgroup`` of
its init process) and ``/proc/<pid>/net/dev``, and for the host ``/proc/stat``,
``/proc/loadavg``, ``/proc/meminfo``, ``/proc/net/dev`` and ``statvfs`` of each real
filesystem. Cumulative counters become rates from two consecutive samples (the first sample
of a container has gauges only). Docker's stats API costs about 1 s per container; these
reads cost well under a millisecond per container.

Each sample is one ``{"type": "metrics", ...}`` message on the inventory stream (see
``docs/dev/fleet-core.md``). The inventory keeps the last :data:`DEFAULT_BUFFER` messages and
replays those newer than what a (re)connecting server says it has, so a server outage or a
partition leaves no gap (bounded by the buffer: an hour at the default interval).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetdeck.agent import procfs

if TYPE_CHECKING:
    from fleetdeck.agent.inventory import ContainerInventory
    from fleetdeck.wire.containers import EngineContainer

DEFAULT_INTERVAL = 10.0
DEFAULT_BUFFER = 360
#: Limits (CPU quota, memory limit) are re-read every this many samples (a minute at 10 s).
LIMITS_EVERY = 6
#: Above this a v1 ``memory.limit_in_bytes`` means "no limit" (the kernel's page-rounded max).
_UNLIMITED = 1 << 60

log = logging.getLogger(__name__)


def rate(now: float | None, before: float | None, seconds: float) -> float | None:
    """Per-second rate of a cumulative counter; None if unknown or it went back (reset)."""
    if now is None or before is None or seconds <= 0 or now < before:
        return None
    return (now - before) / seconds


@dataclass
class _Cgroup:
    """What is cached of a container's cgroup: its files and its last-read limits."""

    pid: int
    files: dict[str, str]
    cpu_quota_cores: float | None = None
    memory_limit: int | None = None
    samples: int = 0


@dataclass
class _Previous:
    """A container's cumulative counters at its previous sample."""

    at: float
    cpu_ns: int | None
    io: tuple[int, int]
    net: tuple[int, int] | None


def _net_total(interfaces: dict[str, tuple[int, int]]) -> tuple[int, int] | None:
    if not interfaces:
        return None
    pairs = [v for k, v in interfaces.items() if k != "lo"]
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def _put(out: dict[str, float], key: str, value: float | None) -> None:
    if value is not None:
        out[key] = round(value, 4)


class MetricsSampler:
    """Samples the host and its running containers; publishes through the inventory.

    Args:
        inventory: Gives the running containers (with their init pids and restart counts)
            and carries the messages to subscribers.
        interval: Seconds between samples.
        proc: Root of the proc filesystem (tests point this at a fake tree).
    """

    def __init__(
        self,
        inventory: ContainerInventory,
        *,
        interval: float = DEFAULT_INTERVAL,
        proc: Path = Path("/proc"),
    ) -> None:
        self.inventory = inventory
        self.interval = interval
        self.proc = proc
        mounts = procfs.parse_mounts(procfs.read_text(proc / "self" / "mounts"))
        self.layout = procfs.CgroupLayout.from_mounts(mounts)
        self._cgroups: dict[str, _Cgroup] = {}
        self._previous: dict[str, _Previous] = {}
        self._host_previous: tuple[float, int, int, dict[str, tuple[int, int]]] | None = None
        self._task: asyncio.Task[None] | None = None
        #: Seconds the last sample took (CPU time of the agent's loop: it runs inline).
        self.last_cost = 0.0

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Sample every ``interval`` seconds in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="metrics-sampler")

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                self.inventory.publish_metrics(self.sample())
            except Exception:
                log.exception("metrics sample failed")
            await asyncio.sleep(self.interval)

    # ----------------------------------------------------------------- samples
    def sample(self, now: float | None = None) -> dict[str, Any]:
        """One metrics message: the host and every running container, rates since last time."""
        started = time.perf_counter()
        now = time.time() if now is None else now
        running = [c for c in self.inventory.containers.values() if c.state == "running"]
        host = self.sample_host(now)
        limit_default = host.get("memory_total_bytes")
        containers: dict[str, dict[str, Any]] = {}
        for container in running:
            values = self.sample_container(container, now, limit_default)
            if values is not None:
                containers[container.id] = values
        for gone in set(self._previous) - set(containers):
            self._previous.pop(gone, None)
            self._cgroups.pop(gone, None)
        self.last_cost = time.perf_counter() - started
        return {
            "type": "metrics",
            "rev": self.inventory.rev,
            "time": datetime.fromtimestamp(now, UTC).isoformat(),
            "host": host,
            "containers": containers,
        }

    def _cgroup(self, container: EngineContainer) -> _Cgroup | None:
        cached = self._cgroups.get(container.id)
        if cached is not None and cached.pid == container.pid:
            return cached
        text = procfs.read_text(self.proc / str(container.pid) / "cgroup")
        dirs = self.layout.container_dirs(text)
        if not dirs:
            return None
        cgroup = _Cgroup(container.pid, procfs.container_files(dirs))
        self._cgroups[container.id] = cgroup
        return cgroup

    @staticmethod
    def _read(cgroup: _Cgroup) -> procfs.CgroupCounters:
        limits = cgroup.samples % LIMITS_EVERY == 0
        cgroup.samples += 1
        counters = procfs.read_container(cgroup.files, limits=limits)
        if limits:
            cgroup.cpu_quota_cores = counters.cpu_quota_cores
            cgroup.memory_limit = counters.memory_limit
        else:
            counters.cpu_quota_cores = cgroup.cpu_quota_cores
            counters.memory_limit = cgroup.memory_limit
        return counters

    def sample_container(
        self, container: EngineContainer, now: float, host_memory: float | None = None
    ) -> dict[str, Any] | None:
        """One container's figures (None if its cgroup cannot be found: it just exited)."""
        if container.pid <= 0:
            return None
        cgroup = self._cgroup(container)
        if cgroup is None:
            return None
        counters = self._read(cgroup)
        net_path = f"{self.proc}/{container.pid}/net/dev"
        net = _net_total(procfs.parse_net_dev(procfs.read_text(net_path)))
        io = (counters.io_read, counters.io_write)
        out: dict[str, Any] = {"name": container.name, "restart_count": container.restart_count}
        before = self._previous.get(container.id)
        self._previous[container.id] = _Previous(now, counters.cpu_ns, io, net)
        self._gauges(out, counters, host_memory)
        if before is not None:
            self._rates(out, counters, before, now, net)
        return out

    def _gauges(
        self, out: dict[str, Any], counters: procfs.CgroupCounters, host_memory: float | None
    ) -> None:
        limit: float | None = counters.memory_limit
        if limit is None or limit >= _UNLIMITED or (host_memory and limit > host_memory):
            limit = host_memory  # no limit: the host's memory is the ceiling (as docker stats)
        working_set = counters.memory_working_set
        _put(out, "memory_working_set_bytes", working_set)
        _put(out, "memory_usage_bytes", counters.memory_usage)
        _put(out, "memory_limit_bytes", limit)
        if working_set is not None and limit:
            _put(out, "memory_percent", 100.0 * working_set / limit)
        _put(out, "pids", counters.pids)
        _put(out, "cpu_limit_cores", counters.cpu_quota_cores)

    def _rates(
        self,
        out: dict[str, Any],
        counters: procfs.CgroupCounters,
        before: _Previous,
        now: float,
        net: tuple[int, int] | None,
    ) -> None:
        seconds = now - before.at
        cpu = rate(counters.cpu_ns, before.cpu_ns, seconds)
        if cpu is not None:
            cores = cpu / 1e9
            _put(out, "cpu_cores", cores)
            ceiling = counters.cpu_quota_cores or float(os.cpu_count() or 1)
            _put(out, "cpu_percent", 100.0 * cores / ceiling)
        _put(out, "blkio_read_bytes_per_s", rate(counters.io_read, before.io[0], seconds))
        _put(out, "blkio_write_bytes_per_s", rate(counters.io_write, before.io[1], seconds))
        if net is not None and before.net is not None:
            _put(out, "net_rx_bytes_per_s", rate(net[0], before.net[0], seconds))
            _put(out, "net_tx_bytes_per_s", rate(net[1], before.net[1], seconds))

    def sample_host(self, now: float) -> dict[str, Any]:
        """The host's CPU, load, memory, filesystems and network interfaces."""
        out: dict[str, Any] = {}
        busy, total, cpus = procfs.parse_proc_stat(procfs.read_text(self.proc / "stat"))
        interfaces = procfs.parse_net_dev(procfs.read_text(self.proc / "net" / "dev"))
        before, self._host_previous = self._host_previous, (now, busy, total, interfaces)
        out["cpu_count"] = cpus
        if before is not None and total > before[2]:
            share = (busy - before[1]) / (total - before[2])
            _put(out, "cpu_percent", 100.0 * share)
            _put(out, "cpu_cores", share * cpus)
        load = procfs.parse_loadavg(procfs.read_text(self.proc / "loadavg"))
        if load is not None:
            out["load1"], out["load5"], out["load15"] = load
        self._memory(out)
        out["filesystems"] = self._filesystems()
        out["interfaces"] = self._interfaces(interfaces, before, now)
        return out

    def _memory(self, out: dict[str, Any]) -> None:
        mem = procfs.parse_meminfo(procfs.read_text(self.proc / "meminfo"))
        total = mem.get("MemTotal")
        if not total:
            return
        arc = procfs.zfs_arc_reclaimable(
            procfs.read_text(self.proc / "spl" / "kstat" / "zfs" / "arcstats")
        )
        available = min(mem.get("MemAvailable", mem.get("MemFree", 0)) + arc, total)
        out["memory_total_bytes"] = total
        out["memory_available_bytes"] = available
        out["memory_used_bytes"] = total - available
        _put(out, "memory_percent", 100.0 * (total - available) / total)

    def _filesystems(self) -> dict[str, dict[str, float]]:
        mounts = procfs.parse_mounts(procfs.read_text(self.proc / "self" / "mounts"))
        out: dict[str, dict[str, float]] = {}
        for mount_point in procfs.real_filesystems(mounts):
            usage = procfs.statvfs_usage(mount_point)
            if usage is not None:
                out[mount_point] = usage
        return out

    @staticmethod
    def _interfaces(
        interfaces: dict[str, tuple[int, int]],
        before: tuple[float, int, int, dict[str, tuple[int, int]]] | None,
        now: float,
    ) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        if before is None:
            return out
        seconds = now - before[0]
        for name, (rx, tx) in interfaces.items():
            if name == "lo" or name.startswith("veth") or name not in before[3]:
                continue
            values: dict[str, float] = {}
            _put(values, "net_rx_bytes_per_s", rate(rx, before[3][name][0], seconds))
            _put(values, "net_tx_bytes_per_s", rate(tx, before[3][name][1], seconds))
            if values:
                out[name] = values
        return out
