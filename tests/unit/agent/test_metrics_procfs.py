"""Parsing of cgroup v1/v2 and /proc files, on small fake trees in a temporary directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.agent import procfs

if TYPE_CHECKING:
    from pathlib import Path

NET_DEV = (
    "Inter-|   Receive    |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets\n"
    "    lo:  1000 10 0 0 0 0 0 0     1000 10 0 0 0 0 0 0\n"
    "  eth0:  5000 50 0 0 0 0 0 0     7000 70 0 0 0 0 0 0\n"
)


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_proc_files_parse() -> None:
    assert procfs.parse_net_dev(NET_DEV) == {"lo": (1000, 1000), "eth0": (5000, 7000)}
    busy, total, cpus = procfs.parse_proc_stat(
        "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0\n"
    )
    assert (busy, total, cpus) == (150, 1000, 2)
    assert procfs.parse_loadavg("0.50 1.25 2.00 3/400 1234\n") == (0.5, 1.25, 2.0)
    assert procfs.parse_loadavg("") is None
    mem = procfs.parse_meminfo("MemTotal: 1000 kB\nMemAvailable: 600 kB\nHugePages_Total: 0\n")
    assert mem == {"MemTotal": 1024000, "MemAvailable": 614400, "HugePages_Total": 0}
    arc = "13 1 0x01 1 2 3 4\nname type data\nsize 4 5000\nc_min 4 1000\n"
    assert procfs.zfs_arc_reclaimable(arc) == 4000
    assert procfs.zfs_arc_reclaimable(None) == 0


def test_only_real_filesystems_once_each() -> None:
    mounts = procfs.parse_mounts(
        "/dev/sda1 / ext4 rw 0 0\n"
        "proc /proc proc rw 0 0\n"
        "overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n"
        "/dev/sda1 /etc/hosts ext4 rw 0 0\n"
        "tmpfs /run tmpfs rw 0 0\n"
        "/dev/sdb1 /mnt/my\\040data xfs rw 0 0\n"
        "tank/data /tank/data zfs rw 0 0\n"
    )
    assert procfs.real_filesystems(mounts) == ["/", "/mnt/my data", "/tank/data"]


def test_blkio_and_io_stat() -> None:
    v1 = "8:0 Read 100\n8:0 Write 50\n8:0 Sync 150\n8:16 Read 1\n8:16 Write 2\nTotal 153\n"
    assert procfs.parse_blkio_v1(v1) == (101, 52)
    v2 = "8:0 rbytes=100 wbytes=50 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2\n"
    assert procfs.parse_io_stat_v2(v2) == (101, 52)


def test_cgroup_v1_container(tmp_path: Path) -> None:
    cg = tmp_path / "cg"
    mounts = procfs.parse_mounts(
        f"cgroup {cg}/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n"
        f"cgroup {cg}/memory cgroup rw,memory 0 0\n"
        f"cgroup {cg}/blkio cgroup rw,blkio 0 0\n"
        f"cgroup {cg}/pids cgroup rw,pids 0 0\n"
        f"cgroup2 {cg}/unified cgroup2 rw 0 0\n"
    )
    layout = procfs.CgroupLayout.from_mounts(mounts)
    assert layout.is_v1
    group = "fdl-lab-node1/abc"
    dirs = layout.container_dirs(
        f"12:pids:/{group}\n5:cpu,cpuacct:/{group}\n4:memory:/{group}\n"
        f"3:blkio:/{group}\n1:name=systemd:/{group}\n0::/{group}\n"
    )
    assert dirs["memory"] == cg / "memory" / group
    assert "v2" not in dirs
    write(cg, f"cpu,cpuacct/{group}/cpuacct.usage", "2500000000\n")
    write(cg, f"cpu,cpuacct/{group}/cpu.cfs_quota_us", "50000\n")
    write(cg, f"cpu,cpuacct/{group}/cpu.cfs_period_us", "100000\n")
    write(cg, f"memory/{group}/memory.usage_in_bytes", "104857600\n")
    stat = "cache 10\ninactive_file 9\ntotal_inactive_file 4857600\ntotal_active_file 1\n"
    write(cg, f"memory/{group}/memory.stat", stat)
    write(cg, f"memory/{group}/memory.limit_in_bytes", "9223372036854771712\n")
    write(cg, f"blkio/{group}/blkio.throttle.io_service_bytes", "8:0 Read 7\n8:0 Write 9\n")
    write(cg, f"pids/{group}/pids.current", "4\n")
    c = procfs.read_container(procfs.container_files(dirs))
    assert c.cpu_ns == 2_500_000_000
    assert c.cpu_quota_cores == 0.5
    assert c.memory_working_set == 100_000_000
    assert c.memory_limit == 9223372036854771712
    cheap = procfs.read_container(procfs.container_files(dirs), limits=False)
    assert cheap.memory_limit is None and cheap.cpu_quota_cores is None
    assert cheap.memory_working_set == 100_000_000
    assert (c.io_read, c.io_write, c.pids) == (7, 9, 4)


def test_cgroup_v2_container(tmp_path: Path) -> None:
    cg = tmp_path / "cg"
    layout = procfs.CgroupLayout.from_mounts(
        procfs.parse_mounts(f"cgroup2 {cg} cgroup2 rw,nsdelegate 0 0\n")
    )
    assert not layout.is_v1
    group = "system.slice/docker-abc.scope"
    dirs = layout.container_dirs(f"0::/{group}\n")
    assert dirs == {"v2": cg / group}
    write(cg, f"{group}/cpu.stat", "usage_usec 1500000\nuser_usec 1000000\n")
    write(cg, f"{group}/cpu.max", "max 100000\n")
    write(cg, f"{group}/memory.current", "2000\n")
    write(cg, f"{group}/memory.stat", "anon 1000\ninactive_file 500\n")
    write(cg, f"{group}/memory.max", "max\n")
    write(cg, f"{group}/io.stat", "8:0 rbytes=3 wbytes=4 rios=1 wios=1\n")
    write(cg, f"{group}/pids.current", "2\n")
    c = procfs.read_container(procfs.container_files(dirs))
    assert c.cpu_ns == 1_500_000_000
    assert c.cpu_quota_cores is None
    assert (c.memory_usage, c.memory_working_set, c.memory_limit) == (2000, 1500, None)
    assert (c.io_read, c.io_write, c.pids) == (3, 4, 2)


def test_missing_files_give_nothing(tmp_path: Path) -> None:
    assert procfs.read_int(tmp_path / "nope") is None
    c = procfs.read_container(procfs.container_files({"v2": tmp_path / "gone"}))
    assert c.cpu_ns is None and c.memory_working_set is None and c.pids is None
    assert procfs.statvfs_usage(str(tmp_path / "nope")) is None
    usage = procfs.statvfs_usage(str(tmp_path))
    assert usage is not None and 0 <= usage["fs_used_percent"] <= 100
