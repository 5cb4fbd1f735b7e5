"""Readers of the kernel's own counters: cgroup v1/v2 files and ``/proc``.

Pure parsing plus small file reads, stdlib only, so the metrics sampler stays cheap and these
functions are testable on fake trees in a temporary directory. Every reader returns ``None``
(or an empty result) when a file is missing or unreadable: a container can exit between the
inventory saying "running" and its files being read, and that is not an error.

A container's cgroup is found from ``/proc/<pid>/cgroup`` of its init process, so any cgroup
parent works (systemd slices, ``/docker/<id>``, the lab's ``/fdl-LAB-NODE/<id>``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Filesystem types that hold no user data (never reported as a host filesystem).
VIRTUAL_FS = frozenset(
    "autofs binfmt_misc bpf cgroup cgroup2 configfs debugfs devpts devtmpfs efivarfs fusectl "
    "hugetlbfs mqueue nsfs overlay proc pstore ramfs rpc_pipefs securityfs selinuxfs squashfs "
    "sysfs tmpfs tracefs fuse.lxcfs fuse.gvfsd-fuse nfsd aufs shm".split()
)
#: Controllers the sampler reads in a cgroup v1 hierarchy.
V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "blkio", "pids")


def read_text(path: Path | str) -> str | None:
    """A small file's text, or None if it cannot be read.

    Plain ``os.open``/``os.read``: about twice as fast as ``open()`` with its text wrapper,
    which matters at ten files per container per sample.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 1 << 16).decode("ascii", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def read_int(path: Path | str) -> int | None:
    """A file holding one integer (``max`` and unreadable files give None)."""
    text = read_text(path)
    if text is None:
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None


def parse_flat_keyed(text: str | None) -> dict[str, int]:
    """``KEY VALUE`` lines (``memory.stat``, ``cpu.stat``) as a dict."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def parse_blkio_v1(text: str | None) -> tuple[int, int]:
    """Bytes read and written from ``blkio.throttle.io_service_bytes`` (all devices)."""
    read = write = 0
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            if parts[1] == "Read":
                read += int(parts[2])
            elif parts[1] == "Write":
                write += int(parts[2])
    return read, write


def parse_io_stat_v2(text: str | None) -> tuple[int, int]:
    """Bytes read and written from a cgroup v2 ``io.stat`` (all devices)."""
    read = write = 0
    for line in (text or "").splitlines():
        for item in line.split()[1:]:
            key, _, value = item.partition("=")
            if key == "rbytes" and value.isdigit():
                read += int(value)
            elif key == "wbytes" and value.isdigit():
                write += int(value)
    return read, write


def parse_net_dev(text: str | None) -> dict[str, tuple[int, int]]:
    """``/proc/net/dev`` as ``{interface: (rx_bytes, tx_bytes)}``."""
    out: dict[str, tuple[int, int]] = {}
    for line in (text or "").splitlines()[2:]:
        name, sep, rest = line.partition(":")
        fields = rest.split()
        if sep and len(fields) >= 9:
            out[name.strip()] = (int(fields[0]), int(fields[8]))
    return out


def parse_proc_stat(text: str | None) -> tuple[int, int, int]:
    """``/proc/stat``: (busy jiffies, total jiffies, CPU count). Idle includes iowait."""
    busy = total = cpus = 0
    for line in (text or "").splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:9]]
            total = sum(values)
            busy = total - values[3] - (values[4] if len(values) > 4 else 0)
        elif line.startswith("cpu"):
            cpus += 1
    return busy, total, max(cpus, 1)


def parse_meminfo(text: str | None) -> dict[str, int]:
    """``/proc/meminfo`` in bytes, e.g. ``{"MemTotal": ..., "MemAvailable": ...}``."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0]) * (1024 if parts[-1] == "kB" else 1)
    return out


def parse_loadavg(text: str | None) -> tuple[float, float, float] | None:
    """``/proc/loadavg``: the 1, 5 and 15 minute load averages."""
    parts = (text or "").split()
    try:
        return float(parts[0]), float(parts[1]), float(parts[2])
    except (ValueError, IndexError):
        return None


Mount = tuple[str, str, str, str]


def parse_mounts(text: str | None) -> list[Mount]:
    """``/proc/self/mounts`` as ``(device, mount point, fs type, options)``."""
    out: list[Mount] = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 4:
            out.append((parts[0], parts[1].replace("\\040", " "), parts[2], parts[3]))
    return out


def zfs_arc_reclaimable(text: str | None) -> int:
    """Bytes of the ZFS ARC the kernel can give back (``size - c_min`` of arcstats)."""
    values: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            values[parts[0]] = int(parts[2])
    return max(values.get("size", 0) - values.get("c_min", 0), 0)


def real_filesystems(mounts: list[Mount]) -> list[str]:
    """Mount points of real filesystems, one per device (bind mounts and ZFS datasets once)."""
    seen: set[str] = set()
    out: list[str] = []
    for device, mount_point, fstype, _options in mounts:
        if fstype in VIRTUAL_FS or device in seen or mount_point.startswith(("/proc", "/sys")):
            continue
        if fstype != "zfs" and not device.startswith("/"):
            continue
        seen.add(device)
        out.append(mount_point)
    return out


@dataclass
class CgroupLayout:
    """Where the host's cgroup hierarchies are mounted (v1 per controller, or v2 unified)."""

    v1: dict[str, Path] = field(default_factory=dict)
    v2: Path | None = None

    @classmethod
    def from_mounts(cls, mounts: list[Mount]) -> CgroupLayout:
        """Find the hierarchies among the mounts of ``/proc/self/mounts``."""
        layout = cls()
        for _device, mount_point, fstype, options in mounts:
            if fstype == "cgroup2" and layout.v2 is None:
                layout.v2 = Path(mount_point)
            elif fstype == "cgroup":
                for name in options.split(","):
                    if name in V1_CONTROLLERS:
                        layout.v1.setdefault(name, Path(mount_point))
        return layout

    @property
    def is_v1(self) -> bool:
        """Whether the memory controller lives in a v1 hierarchy (hybrid hosts count as v1)."""
        return "memory" in self.v1

    def container_dirs(self, proc_cgroup: str | None) -> dict[str, Path]:
        """Directories of one process's cgroup: per v1 controller, or ``{"v2": dir}``."""
        dirs: dict[str, Path] = {}
        for line in (proc_cgroup or "").splitlines():
            _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
            rel = path.lstrip("/")
            if not controllers and self.v2 is not None and not self.is_v1:
                dirs["v2"] = self.v2 / rel
            for name in controllers.split(","):
                if name in self.v1:
                    dirs[name] = self.v1[name] / rel
        return dirs


@dataclass
class CgroupCounters:
    """One container's raw counters (cumulative ones are turned into rates by the sampler)."""

    cpu_ns: int | None = None
    cpu_quota_cores: float | None = None
    memory_usage: int | None = None
    memory_working_set: int | None = None
    memory_limit: int | None = None
    io_read: int = 0
    io_write: int = 0
    pids: int | None = None


#: The files read per cgroup version, by role; roles in :data:`LIMIT_ROLES` change rarely
#: (``docker update``) and are read only when the sampler asks for limits.
V1_FILES = {
    "cpu_usage": ("cpuacct", "cpuacct.usage"),
    "cpu_quota": ("cpu", "cpu.cfs_quota_us"),
    "cpu_period": ("cpu", "cpu.cfs_period_us"),
    "memory_usage": ("memory", "memory.usage_in_bytes"),
    "memory_stat": ("memory", "memory.stat"),
    "memory_limit": ("memory", "memory.limit_in_bytes"),
    "io": ("blkio", "blkio.throttle.io_service_bytes"),
    "pids": ("pids", "pids.current"),
}
V2_FILES = {
    "cpu_stat": "cpu.stat",
    "cpu_max": "cpu.max",
    "memory_usage": "memory.current",
    "memory_stat": "memory.stat",
    "memory_limit": "memory.max",
    "io": "io.stat",
    "pids": "pids.current",
}
LIMIT_ROLES = frozenset({"cpu_quota", "cpu_period", "cpu_max", "memory_limit"})


def container_files(dirs: dict[str, Path]) -> dict[str, str]:
    """Full paths (as strings, built once per container) of the files to read, by role."""
    if "v2" in dirs:
        files = {role: str(dirs["v2"] / name) for role, name in V2_FILES.items()}
        files["version"] = "2"
        return files
    files = {
        role: str(dirs[controller] / name)
        for role, (controller, name) in V1_FILES.items()
        if controller in dirs
    }
    files["version"] = "1"
    return files


def _stat_value(text: str | None, key: str) -> int | None:
    """One ``KEY VALUE`` line's value, found without parsing the whole file."""
    if not text:
        return None
    at = text.find(key + " ")
    while at > 0 and text[at - 1] != "\n":
        at = text.find(key + " ", at + 1)
    if at < 0:
        return None
    end = text.find("\n", at)
    value = text[at + len(key) + 1 : end if end >= 0 else None].strip()
    return int(value) if value.isdigit() else None


def _read_limits_v1(files: dict[str, str], out: CgroupCounters) -> None:
    quota, period = read_int(files.get("cpu_quota", "")), read_int(files.get("cpu_period", ""))
    out.cpu_quota_cores = quota / period if quota and quota > 0 and period else None
    out.memory_limit = read_int(files.get("memory_limit", ""))


def _read_limits_v2(files: dict[str, str], out: CgroupCounters) -> None:
    cpu_max = (read_text(files["cpu_max"]) or "").split()
    if len(cpu_max) == 2 and cpu_max[0].isdigit() and cpu_max[1].isdigit():
        out.cpu_quota_cores = int(cpu_max[0]) / int(cpu_max[1])
    out.memory_limit = read_int(files["memory_limit"])  # "max" → None (unlimited)


def read_container(files: dict[str, str], *, limits: bool = True) -> CgroupCounters:
    """A container's counters from its cgroup files (see :func:`container_files`).

    Args:
        files: The container's files by role.
        limits: Also read the CPU and memory limits (else they stay None).
    """
    out = CgroupCounters()
    v2 = files.get("version") == "2"
    if v2:
        usec = _stat_value(read_text(files["cpu_stat"]), "usage_usec")
        out.cpu_ns = usec * 1000 if usec is not None else None
        inactive_key = "inactive_file"
    else:
        out.cpu_ns = read_int(files["cpu_usage"]) if "cpu_usage" in files else None
        inactive_key = "total_inactive_file"
    if limits:
        (_read_limits_v2 if v2 else _read_limits_v1)(files, out)
    if "memory_usage" in files:
        out.memory_usage = read_int(files["memory_usage"])
        if out.memory_usage is not None:
            inactive = _stat_value(read_text(files["memory_stat"]), inactive_key) or 0
            out.memory_working_set = max(out.memory_usage - inactive, 0)
    if "io" in files:
        text = read_text(files["io"])
        out.io_read, out.io_write = parse_io_stat_v2(text) if v2 else parse_blkio_v1(text)
    if "pids" in files:
        out.pids = read_int(files["pids"])
    return out


def statvfs_usage(mount_point: str) -> dict[str, float] | None:
    """Size, used bytes and inodes of one filesystem (None if it cannot be read)."""
    try:
        st = os.statvfs(mount_point)
    except OSError:
        return None
    size = st.f_blocks * st.f_frsize
    if size == 0:
        return None
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    # Like df: percent of what non-root users can have (used + available).
    usable = used + st.f_bavail * st.f_frsize
    inodes_used = st.f_files - st.f_ffree
    return {
        "fs_size_bytes": float(size),
        "fs_used_bytes": float(used),
        "fs_used_percent": 100.0 * used / usable if usable else 0.0,
        "fs_inodes_used": float(inodes_used),
        "fs_inodes_percent": 100.0 * inodes_used / st.f_files if st.f_files else 0.0,
    }
