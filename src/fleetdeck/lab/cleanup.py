"""Removing everything a lab made, found from its name alone (so a crashed ``up`` is cleaned).

Order matters: processes first (engines, shims, containers, registry), then mounts, cgroups,
network objects and files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.lab.network import netns_list, remove_network
from fleetdeck.lab.system import run

if TYPE_CHECKING:
    from fleetdeck.lab.state import LabNames

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _netns_inodes(names: LabNames) -> set[int]:
    inodes: set[int] = set()
    for netns in netns_list():
        if netns.startswith(names.netns_prefix):
            with contextlib.suppress(OSError):
                inodes.add(os.stat(f"/run/netns/{netns}").st_ino)
    return inodes


def lab_cgroups(names: LabNames) -> list[Path]:
    """Every cgroup directory (v1 controllers and v2) under the lab's cgroup parents."""
    pattern = f"fdl-{names.name}-*"
    found = list(CGROUP_ROOT.glob(pattern)) + list(CGROUP_ROOT.glob(f"*/{pattern}"))
    return [p for p in found if p.is_dir()]


def lab_pids(names: LabNames) -> set[int]:
    """Pids of every process that belongs to the lab.

    A process belongs to it when its command line names the lab's state or run directory
    (dockerd, containerd, shims, the registry), when it sits in the lab's network namespaces
    (``lab exec`` children), or when it is in one of the lab's cgroups (containers).
    """
    markers = (str(names.state_dir).encode() + b"/", str(names.run_dir).encode() + b"/")
    inodes = _netns_inodes(names)
    me = os.getpid()
    pids: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if any(m in cmdline for m in markers):
                pids.add(int(entry.name))
                continue
            if inodes and os.stat(entry / "ns" / "net").st_ino in inodes:
                pids.add(int(entry.name))
        except OSError:
            continue
    for cgroup in lab_cgroups(names):
        for procs in cgroup.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(p) for p in procs.read_text().split())
    pids.discard(me)
    return pids


def kill_lab_processes(names: LabNames, rounds: int = 20) -> None:
    """SIGKILL the lab's processes until none is left.

    No graceful stop: everything the lab's engines hold is about to be deleted, and a
    container's PID 1 often ignores SIGTERM, which would cost the engine's stop timeout.
    Several rounds, because a dying shim or engine can fork once more.
    """
    for _ in range(rounds):
        pids = lab_pids(names)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.05)


def lab_mounts(names: LabNames) -> list[str]:
    """Mount points under the lab's state or run directory, deepest first."""
    roots = (str(names.state_dir) + "/", str(names.run_dir) + "/")
    points: list[str] = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4].encode().decode("unicode_escape")
            if point.startswith(roots) or point in (str(names.state_dir), str(names.run_dir)):
                points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_all(names: LabNames) -> None:
    """Unmount everything the lab's engines mounted (overlay layers, netns files, shm)."""
    for _ in range(3):
        points = lab_mounts(names)
        if not points:
            return
        for point in points:
            run(["umount", "-l", point], check=False)


def remove_cgroups(names: LabNames) -> None:
    """Remove the lab's cgroup directories, children before parents."""
    for cgroup in lab_cgroups(names):
        dirs = sorted((p for p in cgroup.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for directory in [*dirs, cgroup]:
            with contextlib.suppress(OSError):
                directory.rmdir()


def remove_everything(names: LabNames) -> None:
    """Remove every trace of the lab; safe to call on a lab that is partly or wholly gone."""
    kill_lab_processes(names)
    unmount_all(names)
    remove_cgroups(names)
    remove_network(names)
    for directory in (names.run_dir, names.state_dir):
        shutil.rmtree(directory, ignore_errors=True)


def leftovers(names: LabNames) -> dict[str, list[str]]:
    """What of the lab still exists on the machine, by kind (empty lists when clean)."""
    found: dict[str, list[str]] = {
        "namespaces": [n for n in netns_list() if n.startswith(names.netns_prefix)],
        "processes": sorted(str(p) for p in lab_pids(names)),
        "mounts": lab_mounts(names),
        "cgroups": [str(p) for p in lab_cgroups(names)],
        "paths": [str(p) for p in (names.state_dir, names.run_dir) if p.exists()],
    }
    links = run(["ip", "-o", "link", "show"], check=False).stdout
    found["links"] = [
        line.split(":")[1].strip().split("@")[0]
        for line in links.splitlines()
        if f"fd{names.short_id}" in line
        or f"fdv{names.short_id}" in line
        or f"fdp{names.short_id}" in line
        or f"fdb{names.short_id}" in line
    ]
    rules = run(["iptables", "-w", "-S"], check=False).stdout
    found["iptables"] = [r for r in rules.splitlines() if names.iptables_comment in r]
    return found
