"""Benchmark: ``fleetdeck lab up`` for 3 nodes, and starting 50 containers on one node.

Each figure is printed next to its anchor, measured in the same run:

* ``lab up --nodes 3`` (namespaces, 3 engines, registry, seed images) against the time one
  bare dockerd of the lab takes from start to ready (the floor any lab pays per engine);
* 50 containers created and started through the Docker Engine API (one HTTP client over the
  node's unix socket, sequential and 8 in parallel) against 50 ``docker run -d`` invocations
  of the docker CLI, the way an operator's script would do it.

Run as root: ``.venv/bin/python bench/lab_bench.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import api_start, engine_client, machine, summary  # noqa: E402
from fleetdeck.lab import Lab, NodeRecord  # noqa: E402

CONTAINERS = 50


def time_lab_up(name: str) -> float:
    Lab(name).down()
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "fleetdeck",
            "lab",
            "up",
            "--nodes",
            "3",
            "--name",
            name,
            "-o",
            "json",
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def time_engine_restart(lab: Lab, node: str) -> float:
    lab.stop_node(node)
    start = time.perf_counter()
    lab.start_node(node)
    return time.perf_counter() - start


def remove_all(node: NodeRecord) -> None:
    ids = subprocess.run(
        ["docker", "--host", node.docker_host, "ps", "-aq"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if ids:
        subprocess.run(
            ["docker", "--host", node.docker_host, "rm", "-f", *ids],
            capture_output=True,
            check=True,
        )


def time_api(node: NodeRecord, image: str, parallel: int, tag: str) -> float:
    with engine_client(node.docker_host) as client:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            list(pool.map(lambda i: api_start(client, image, f"{tag}-{i}"), range(CONTAINERS)))
        return time.perf_counter() - start


def time_cli(node: NodeRecord, image: str, tag: str) -> float:
    start = time.perf_counter()
    for i in range(CONTAINERS):
        subprocess.run(
            [
                "docker",
                "--host",
                node.docker_host,
                "run",
                "-d",
                "--name",
                f"{tag}-{i}",
                image,
                "sleep",
                "3600",
            ],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--name", default="benchlab")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    ups = [time_lab_up(args.name) for _ in range(args.runs)]
    lab = Lab(args.name)
    engine = [time_engine_restart(lab, "node1") for _ in range(args.runs)]
    record = lab.require_record()
    node = record.nodes[0]
    image = record.images["base"]
    seq, par, cli = [], [], []
    for run in range(args.runs):
        seq.append(time_api(node, image, 1, f"seq{run}"))
        remove_all(node)
        par.append(time_api(node, image, 8, f"par{run}"))
        remove_all(node)
        cli.append(time_cli(node, image, f"cli{run}"))
        remove_all(node)
    lab.down()
    print(f"lab up, 3 nodes:                     {summary(ups)}")
    print(f"  anchor: one engine start-to-ready: {summary(engine)}")
    print(f"{CONTAINERS} containers via Engine API, 1 at a time: {summary(seq)}")
    print(f"{CONTAINERS} containers via Engine API, 8 at a time: {summary(par)}")
    print(f"  anchor: {CONTAINERS} x `docker run -d` (CLI):     {summary(cli)}")
    med = sorted(seq)[len(seq) // 2], sorted(par)[len(par) // 2], sorted(cli)[len(cli) // 2]
    print(
        f"ratios vs CLI anchor: API sequential {med[0] / med[2]:.2f}x, "
        f"API 8-parallel {med[1] / med[2]:.2f}x"
    )


if __name__ == "__main__":
    main()
