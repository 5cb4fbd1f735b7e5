"""Benchmark: how fast the ``fleetdeck`` CLI starts and answers, next to Python and Docker.

Four commands are run as separate processes, interleaved round by round so that each sees
the same machine load, and their wall times are summarised as medians:

* ``python3 -c pass`` (the venv's interpreter): the floor any Python CLI pays to start;
* ``docker version``: the Docker CLI asking its engine (a Go binary and one local request);
* ``fleetdeck version``: the CLI's own start-up (goal: median at most 150 ms, idle 2 cores);
* ``fleetdeck ps``: start-up plus one API request to a server over a 3-node lab (goal:
  median at most 350 ms).

The server comes from ``FLEETDECK_URL`` (with ``FLEETDECK_TOKEN``, ``FLEETDECK_CA_CERT``) when
set; otherwise a lab is brought up for the run (``fleetdeck lab up --name clibench --server``,
its settings from ``fleetdeck lab env``, one web container started on each node) and taken
down after it. The load average is printed
before and after: on a busy machine every figure, the anchors included, grows.

Run as root: ``.venv/bin/python bench/cli_bench.py [--runs 20] [--fleetdeck CMD]``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, summary  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

LAB = "clibench"
FLEETDECK = [str(Path(sys.executable).with_name("fleetdeck"))]
GOALS = {"fleetdeck version": 0.150, "fleetdeck ps": 0.350}


def run_once(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of one run of ``argv`` to its exit (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def lab_env(name: str) -> dict[str, str]:
    """The FLEETDECK_* settings ``fleetdeck lab env`` prints as shell exports."""
    out = subprocess.run(
        [*FLEETDECK, "lab", "env", "--name", name], check=True, capture_output=True, text=True
    ).stdout
    settings: dict[str, str] = {}
    for line in out.splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            settings[key] = value
    return settings


@contextmanager
def server() -> Iterator[dict[str, str]]:
    """The environment ``fleetdeck ps`` runs in: the caller's server, or a lab of our own."""
    if os.environ.get("FLEETDECK_URL"):
        print("server: FLEETDECK_URL from the environment")
        yield dict(os.environ)
        return
    print(f"server: bringing up lab {LAB!r} (3 nodes, --server) for this run")
    subprocess.run(
        [*FLEETDECK, "lab", "up", "--name", LAB, "--server", "-o", "json"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        settings = lab_env(LAB)
        for node in ("node1", "node2", "node3"):  # something for ps to list on every node
            subprocess.run(
                [*FLEETDECK, "lab", "exec", node, "--name", LAB, "--", "docker", "run", "-d",
                 "--name", f"web-{node}", f"{settings['FLEETDECK_LAB_REGISTRY']}/fleetdeck/web:1"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        time.sleep(3)  # the agents report the new containers
        yield {**os.environ, **settings}
    finally:
        subprocess.run(
            [*FLEETDECK, "lab", "down", "--name", LAB], check=False, stdout=subprocess.DEVNULL
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="rounds (one run of each command)")
    parser.add_argument(
        "--fleetdeck",
        default=FLEETDECK[0],
        help="the CLI to measure (default: this venv's); e.g. another checkout's, to compare",
    )
    args = parser.parse_args()
    FLEETDECK[:] = shlex.split(args.fleetdeck)
    print(f"fleetdeck: {args.fleetdeck}")
    print(machine())
    with server() as env:
        commands = {
            "python3 -c pass": [sys.executable, "-c", "pass"],
            "docker version": ["docker", "version"],
            "fleetdeck version": [*FLEETDECK, "version"],
            "fleetdeck ps": [*FLEETDECK, "ps"],
        }
        for argv in commands.values():  # warm the page cache; not counted
            run_once(argv, env)
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(run_once(argv, env))
        print(f"load average after:  {os.getloadavg()[0]:.2f}")
    floor = statistics.median(samples["python3 -c pass"])
    for name, times in samples.items():
        line = f"{name:<18} {summary(times)}"
        if name != "python3 -c pass":
            line += f"  = python3 -c pass + {statistics.median(times) - floor:.3f}s"
        if name in GOALS:
            line += f"  (goal: median <= {GOALS[name]:.3f}s on an idle 2-core machine)"
        print(line)


if __name__ == "__main__":
    main()
