"""Benchmark: the fleet-wide container list and inventory latency on 3 nodes x 100 containers.

Every figure is printed next to its anchor, measured in the same run:

* p50/p95 latency of a fleet-wide container list through fleetdeck (``GET /api/v1/containers``
  over HTTPS, served from the server's in-memory inventory) against a direct parallel query of
  the three engines (``GET /containers/json?all=1`` on each unix socket, three threads);
* p50/p95 time from a ``docker run`` on a node (create+start through the Engine API) to the
  container appearing in fleetdeck's list (goal: p95 <= 1 s), next to the time the engine
  itself took to create and start it;
* resident memory of the server and of each agent (goal for an agent: <= 40 MB).

Run as root: ``.venv/bin/python bench/fleet_bench.py [--per-node 100] [--samples 50]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import api_pull, api_start, engine_client, machine, percentile, rss_mb  # noqa: E402
from fleetdeck.client.client import FleetdeckClient  # noqa: E402
from fleetdeck.client.config import ClientConfig  # noqa: E402
from fleetdeck.lab import Lab, LabRecord  # noqa: E402


def pids_with(marker: str, word: str) -> list[int]:
    """Pids whose command line contains both ``marker`` and ``word`` (not wrappers)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmd and word in cmd and "python" in cmd and not cmd.startswith("nsenter"):
            found.append(int(proc.name))
    return found


def fill(record: LabRecord, per_node: int) -> None:
    image = record.images["base"]
    for node in record.nodes:
        with engine_client(node.docker_host) as client, ThreadPoolExecutor(8) as pool:
            api_pull(client, image)
            list(
                pool.map(
                    lambda i, c=client, n=node: api_start(c, image, f"b-{n.name}-{i}"),
                    range(per_node),
                )
            )


def p(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50) * 1000:7.1f} ms  "
        f"p95 {percentile(samples, 95) * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-node", type=int, default=100)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--name", default="benchfleet")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    lab = Lab(args.name)
    lab.down()
    record, _ = lab.up(nodes=3, server=True)
    assert record.server is not None
    try:
        fill(record, args.per_node)
        total = 3 * args.per_node
        config = ClientConfig(
            url=record.server.url, ca_cert=record.server.ca_cert, token=record.server.token
        )
        with FleetdeckClient(config) as client:
            deadline = time.monotonic() + 120
            while client.list_containers(limit=5000).total < total:
                if time.monotonic() > deadline:
                    raise SystemExit("fleetdeck never saw all containers")
                time.sleep(0.2)
            listing, direct = [], []
            engines = [engine_client(n.docker_host) for n in record.nodes]
            with ThreadPoolExecutor(3) as pool:
                for _ in range(args.samples):
                    t0 = time.perf_counter()
                    page = client.list_containers(limit=5000)
                    listing.append(time.perf_counter() - t0)
                    assert page.total == total
                    t0 = time.perf_counter()
                    answers = list(
                        pool.map(
                            lambda e: e.get("/containers/json", params={"all": "1"}).json(), engines
                        )
                    )
                    direct.append(time.perf_counter() - t0)
                    assert sum(len(a) for a in answers) == total
            appear, engine_start = [], []
            node = record.nodes[1]
            with engine_client(node.docker_host) as engine:
                for _ in range(max(10, args.samples // 2)):
                    name = f"appear-{uuid.uuid4().hex[:8]}"
                    t0 = time.perf_counter()
                    api_start(engine, record.images["base"], name)
                    engine_start.append(time.perf_counter() - t0)
                    while client.list_containers(name=name).total == 0:
                        time.sleep(0.005)
                    appear.append(time.perf_counter() - t0)
            for e in engines:
                e.close()
        server_pids = pids_with(record.server.data_dir, "server")
        agent_pids = pids_with(str(lab.names.state_dir), "fleetdeck.agent") or pids_with(
            str(lab.names.state_dir), " agent "
        )
        print(f"fleet: 3 nodes x {args.per_node} containers = {total}")
        print(f"fleet-wide list via fleetdeck (HTTPS, {total} rows): {p(listing)}")
        print(f"  anchor: direct parallel query of 3 engines:      {p(direct)}")
        print(f"  ratio (p50): {percentile(listing, 50) / percentile(direct, 50):.2f}x")
        print(f"docker run -> visible in fleetdeck list:         {p(appear)}")
        print(f"  anchor: engine create+start alone:              {p(engine_start)}")
        lag = [a - e for a, e in zip(appear, engine_start, strict=True)]
        print(f"  fleetdeck's own lag after the engine answered:  {p(lag)}")
        for pid in server_pids:
            print(f"server RSS: {rss_mb(pid):.1f} MB (pid {pid})")
        for pid in agent_pids:
            print(f"agent RSS: {rss_mb(pid):.1f} MB (pid {pid}; goal <= 40 MB)")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
