"""Benchmark: the agent's cost to sample 100 containers, and the store's growth per node per day.

Every figure is printed next to its anchor, measured in the same run, on a 1-node lab with a
fleetdeck server and agent (default intervals and retention):

* the agent's sampler (:class:`fleetdeck.agent.metrics.MetricsSampler`, run in this process
  over the node's 100 running containers: the same cgroup and /proc reads the agent does) —
  median wall and CPU time of one pass — against ``docker stats --no-stream`` on the same 100
  containers (median wall time; goal: the sampler ≥ 100x cheaper);
* the store's growth: bytes per sample set (one node's host + containers at one instant) in
  the server's SQLite store, measured with SQLite's ``dbstat`` over the samples the real agent
  wrote during the run, extrapolated to a day at the default 10 s interval (8,640 sets), plus
  the 1-minute and 1-hour rollups at their measured bytes per row, and the steady-state size
  with the default retention (raw 1 day, 1-minute 14 days, 1-hour 400 days); next to it, the
  same samples kept as the agent's own JSON messages (the anchor: an append-only log of what
  the agent sends).

Run as root: ``.venv/bin/python bench/metrics_bench.py [--containers 100] [--passes 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import api_pull, api_start, engine_client, machine  # noqa: E402
from fleetdeck.agent.metrics import MetricsSampler  # noqa: E402
from fleetdeck.lab import Lab, LabRecord  # noqa: E402
from fleetdeck.wire.containers import EngineContainer  # noqa: E402

DAY_SETS = 8640  # sample sets a day at the default 10 s interval
RETENTION_DAYS = {"raw": 1, "1m": 14, "1h": 400}


class StaticInventory:
    """The part of the agent's inventory the sampler reads: running containers with pids."""

    def __init__(self, containers: dict[str, EngineContainer]) -> None:
        self.containers = containers
        self.rev = 1

    def publish_metrics(self, message: dict[str, Any]) -> None:
        """Unused: the benchmark calls ``sample()`` itself."""


def running_containers(docker_host: str) -> dict[str, EngineContainer]:
    """The node's running containers with their init pids, from the Engine API."""
    out = {}
    with engine_client(docker_host) as client:
        for item in client.get("/containers/json").json():
            state = client.get(f"/containers/{item['Id']}/json").json()
            out[item["Id"]] = EngineContainer(
                id=item["Id"],
                name=item["Names"][0].lstrip("/"),
                image=item["Image"],
                state="running",
                created=datetime.fromtimestamp(item["Created"], UTC),
                pid=state["State"]["Pid"],
            )
    return out


def sampler_cost(containers: dict[str, EngineContainer], passes: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds of one sampling pass; bytes of one message as JSON."""
    sampler = MetricsSampler(StaticInventory(containers))  # type: ignore[arg-type]
    sampler.sample()  # the first pass finds the cgroups; rates start from the second
    walls, cpus = [], []
    message: dict[str, Any] = {}
    for _ in range(passes):
        wall, cpu = time.perf_counter(), time.process_time()
        message = sampler.sample()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        time.sleep(0.2)
    assert len(message["containers"]) == len(containers), "every container sampled"
    return statistics.median(walls), statistics.median(cpus), len(json.dumps(message))


def docker_stats_cost(docker_host: str, names: list[str], runs: int) -> float:
    """Median wall seconds of ``docker stats --no-stream`` over ``names``."""
    env = {**os.environ, "DOCKER_HOST": docker_host}
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            ["docker", "stats", "--no-stream", *names], env=env, check=True, capture_output=True
        )
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def store_figures(db: Path) -> dict[str, float]:
    """Bytes per raw sample row and per rollup row, rows per sample set, from ``dbstat``."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        sizes = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        raw_rows = conn.execute("SELECT COUNT(*) FROM metric_samples").fetchone()[0]
        sets = conn.execute(
            "SELECT COUNT(DISTINCT ts) FROM metric_samples s JOIN metric_series m "
            "ON m.id = s.series_id WHERE m.kind = 'host'"
        ).fetchone()[0]
        rollup_rows = conn.execute(
            "SELECT COUNT(*) FROM metric_rollups WHERE step = 60"
        ).fetchone()[0]
        series = conn.execute("SELECT COUNT(*) FROM metric_series").fetchone()[0]
    finally:
        conn.close()

    def table_bytes(*names: str) -> float:
        return float(sum(v for k, v in sizes.items() if any(k.startswith(n) for n in names)))

    raw_bytes = table_bytes(
        "metric_samples", "sqlite_autoindex_metric_samples", "ix_metric_samples"
    )
    rollup_bytes = table_bytes(
        "metric_rollups", "sqlite_autoindex_metric_rollups", "ix_metric_rollups"
    )
    return {
        "raw_rows": raw_rows,
        "sets": sets,
        "series": series,
        "bytes_per_raw_row": raw_bytes / raw_rows,
        "rows_per_set": raw_rows / max(sets, 1),
        "bytes_per_rollup_row": rollup_bytes / rollup_rows if rollup_rows else float("nan"),
        "rollup_rows": rollup_rows,
    }


def fill(record: LabRecord, count: int) -> list[str]:
    node = record.nodes[0]
    image = record.images["base"]
    names = [f"m-{i}" for i in range(count)]
    with engine_client(node.docker_host) as client, ThreadPoolExecutor(8) as pool:
        api_pull(client, image)
        list(pool.map(lambda n: api_start(client, image, n), names))
    return names


def mb(n: float) -> str:
    return f"{n / 1e6:8.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--stats-runs", type=int, default=3)
    parser.add_argument("--store-seconds", type=float, default=180.0)
    parser.add_argument("--name", default="mbench")
    args = parser.parse_args()
    print(machine())
    lab = Lab(args.name)
    lab.down()
    record, _ = lab.up(nodes=1, server=True)
    try:
        assert record.server is not None
        started = time.monotonic()
        names = fill(record, args.containers)
        node = record.nodes[0]
        containers = running_containers(node.docker_host)
        print(f"{len(containers)} running containers on {node.name}")
        wall, cpu, message_bytes = sampler_cost(containers, args.passes)
        stats = docker_stats_cost(node.docker_host, names, args.stats_runs)
        load = os.getloadavg()[0]
        print(
            f"\nsampling {len(containers)} containers (median of {args.passes} passes; "
            f"load average {load:.1f} on {os.cpu_count()} cores):"
        )
        print(f"  fleetdeck sampler      wall {wall * 1000:8.1f} ms   cpu {cpu * 1000:8.1f} ms")
        print(
            f"  docker stats --no-stream (anchor, median of {args.stats_runs}) "
            f"wall {stats * 1000:8.1f} ms"
        )
        print(
            f"  sampler is {stats / wall:,.0f}x cheaper in wall time "
            f"({stats / max(cpu, 1e-9):,.0f}x against its CPU time); goal >= 100x"
        )
        # Let the real agent write samples (and the server roll up a few minutes).
        remaining = args.store_seconds - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        figures = store_figures(Path(record.server.data_dir) / "fleetdeck.db")
        per_set = figures["bytes_per_raw_row"] * figures["rows_per_set"]
        series = figures["rows_per_set"]  # one row per series per set
        raw_day = per_set * DAY_SETS
        minute_day = figures["bytes_per_rollup_row"] * series * 1440
        hour_day = figures["bytes_per_rollup_row"] * series * 24
        steady = (
            raw_day * RETENTION_DAYS["raw"]
            + minute_day * RETENTION_DAYS["1m"]
            + hour_day * RETENTION_DAYS["1h"]
        )
        anchor_day = message_bytes * DAY_SETS
        print(f"\nstore growth, 1 node with {len(containers)} containers, 10 s interval:")
        print(
            f"  measured: {figures['sets']:.0f} sample sets, {figures['rows_per_set']:.0f} "
            f"rows a set, {figures['bytes_per_raw_row']:.1f} B a raw row (with its indexes), "
            f"{figures['bytes_per_rollup_row']:.1f} B a rollup row ({figures['rollup_rows']:.0f})"
        )
        print(f"  raw samples          {mb(raw_day)} a day  ({per_set / 1000:.1f} kB a set)")
        print(f"  1-minute rollups     {mb(minute_day)} a day")
        print(f"  1-hour rollups       {mb(hour_day)} a day")
        print(f"  steady state with default retention (raw 1 d, 1m 14 d, 1h 400 d): {mb(steady)}")
        print(
            f"  anchor: the agent's JSON messages kept as they are: {mb(anchor_day)} a day "
            f"({message_bytes / 1000:.1f} kB a set), {mb(anchor_day * 400)} for 400 days"
        )
    finally:
        lab.down()


if __name__ == "__main__":
    main()
