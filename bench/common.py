"""Helpers shared by benchmarks: the machine description and robust summaries."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Sequence


def machine() -> str:
    """One line describing the machine a benchmark ran on."""
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    engine = subprocess.run(
        ["dockerd", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, "
        f"Linux {platform.release()}, Python {platform.python_version()}, {engine}"
    )


def summary(samples: Sequence[float]) -> str:
    """Median with min and max, in seconds."""
    return (
        f"median {statistics.median(samples):.3f}s "
        f"(min {min(samples):.3f}s, max {max(samples):.3f}s, n={len(samples)})"
    )


def percentile(samples: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def engine_client(docker_host: str) -> httpx.Client:
    """An HTTP client for a Docker engine's unix socket (the anchor: no fleetdeck between)."""
    transport = httpx.HTTPTransport(uds=docker_host.removeprefix("unix://"))
    return httpx.Client(transport=transport, base_url="http://docker", timeout=60)


def api_pull(client: httpx.Client, image: str) -> None:
    """Pull ``image`` (REPO:TAG) onto the engine, waiting for the pull to finish."""
    repo, _, tag = image.rpartition(":")
    with client.stream("POST", "/images/create", params={"fromImage": repo, "tag": tag}) as r:
        r.raise_for_status()
        for _ in r.iter_lines():
            pass


def api_start(client: httpx.Client, image: str, name: str) -> None:
    """Create and start a ``sleep`` container through the Engine API."""
    created = client.post(
        "/containers/create", params={"name": name}, json={"Image": image, "Cmd": ["sleep", "3600"]}
    )
    created.raise_for_status()
    client.post(f"/containers/{created.json()['Id']}/start").raise_for_status()


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (from /proc, VmRSS)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
