"""Benchmark: fleetdeck's container images — their sizes, and the agent's memory in a container.

Every figure is printed next to its anchor, measured in the same run:

* the size of ``fleetdeck/server`` and ``fleetdeck/agent`` (built from the repository's
  Dockerfile on the lab's debootstrap base, :mod:`fleetdeck.lab.product_images`) next to
  the base image itself: what fleetdeck adds is the difference;
* the resident memory of the agent running as a container of that image (the documented
  ``docker run`` line) next to the same agent code as a plain process on the same node,
  watching the same engine with the same containers, sampled together (medians of
  ``--samples`` readings one second apart, after ``--settle`` seconds; goal <= 40 MB).

Run as root: ``.venv/bin/python bench/images_bench.py [--samples 15] [--settle 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, rss_mb  # noqa: E402
from fleetdeck.client.client import FleetdeckClient  # noqa: E402
from fleetdeck.client.config import ClientConfig  # noqa: E402
from fleetdeck.lab import Lab, LabRecord, NodeRecord, debian_base, fleet_server  # noqa: E402
from fleetdeck.lab.system import spawn_daemon  # noqa: E402

PROCESS_PORT = 9002
WORKLOAD = 10


def docker(node: NodeRecord, *args: str) -> str:
    """``docker ARGS`` on the node's engine; its stdout."""
    return subprocess.run(
        ["docker", "--host", node.docker_host, *args],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout.strip()  # fmt: skip


def size_mb(node: NodeRecord, ref: str) -> float:
    """An image's size as the engine reports it (all layers), in MB."""
    return int(docker(node, "image", "inspect", "--format", "{{.Size}}", ref)) / 1e6


def process_agent_pid(state_dir: Path) -> int:
    """The pid of the process agent whose command line names ``state_dir``."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"fleetdeck.agent" in cmd and str(state_dir).encode() in cmd:
            return int(proc.name)
    raise SystemExit(f"no process agent with {state_dir}")


def start_process_agent(record: LabRecord, node: NodeRecord) -> Path:
    """Enrol a process agent on ``node`` (environment ``bench-process``, port 9002)."""
    assert record.server is not None
    config = ClientConfig(
        url=record.server.url, ca_cert=record.server.ca_cert, token=record.server.token
    )
    state_dir = Lab(record.name).names.state_dir / node.name / "agent-process"
    state_dir.mkdir(parents=True, exist_ok=True)
    with FleetdeckClient(config) as client:
        token = client.create_environment("bench-process").join_token
        argv = fleet_server.agent_argv(node, record.server.url, token, state_dir)
        argv[argv.index("--listen") + 1] = f"{node.ip}:{PROCESS_PORT}"
        spawn_daemon(argv, str(state_dir / "agent.log"))
        fleet_server.wait_agents_up(client, {"bench-process": 1})
    return state_dir


def main() -> None:
    """Bring up a 1-node lab with a container agent, measure, take it down."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args()
    print(machine())
    lab = Lab(f"imgb{uuid.uuid4().hex[:4]}")
    try:
        started = time.perf_counter()
        record, _ = lab.up(nodes=1, server=True, agent_mode="container")
        print(f"lab up with a container agent: {time.perf_counter() - started:.1f} s")
        node = record.nodes[0]
        docker_cmd = ["docker", "--host", node.docker_host]
        base = debian_base.import_base(docker_cmd, f"{record.registry}/bench/python-base:anchor")
        base_mb = size_mb(node, base)
        print(f"base image (debootstrap python3.11, anchor): {base_mb:.1f} MB")
        for role in ("server", "agent"):
            mb = size_mb(node, record.images[f"fleetdeck_{role}"])
            print(f"fleetdeck/{role}: {mb:.1f} MB (base + {mb - base_mb:.1f} MB)")

        for i in range(WORKLOAD):  # the same containers for both agents to follow and sample
            docker(node, "run", "-d", "--name", f"w{i}", record.images["web"])
        state_dir = start_process_agent(record, node)
        container_pid = int(
            docker(node, "inspect", "--format", "{{.State.Pid}}", fleet_server.AGENT_CONTAINER)
        )
        process_pid = process_agent_pid(state_dir)
        time.sleep(args.settle)  # both past start-up, a few inventory and metrics rounds
        in_container, as_process = [], []
        for _ in range(args.samples):
            in_container.append(rss_mb(container_pid))
            as_process.append(rss_mb(process_pid))
            time.sleep(1.0)
        print(
            f"agent RSS as a container: median {statistics.median(in_container):.1f} MB "
            f"(min {min(in_container):.1f}, max {max(in_container):.1f}, n={args.samples}); "
            f"as a process (anchor, same node and containers): "
            f"median {statistics.median(as_process):.1f} MB "
            f"(min {min(as_process):.1f}, max {max(as_process):.1f}); goal <= 40 MB"
        )
    finally:
        lab.down()


if __name__ == "__main__":
    main()
