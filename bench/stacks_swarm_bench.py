"""Benchmark: deploying a 10-service stack to a 3-node Swarm, fleetdeck vs ``docker stack deploy``.

Both deploy the same Compose file to the same lab Swarm, alternately, and every figure is
printed next to its anchor from the same run (medians of ``--runs``):

* cold deploy (no service of the stack exists; images already on the nodes after the first
  round): fleetdeck's plan + apply, which returns once every service converged, against
  ``docker stack deploy`` measured twice: until the command returns (it does not wait for
  anything on Engine 20.10) and until ``docker stack services`` shows every replica running;
* unchanged re-deploy: fleetdeck's plan + apply of the same file (it sends nothing) against
  ``docker stack deploy`` of the same file again (it resolves every image and re-sends every
  spec), and whether either changed a service (service versions before and after).

Both are run as an operator would: ``fleetdeck stack deploy NAME -f FILE --env swarm``
(the CLI, through the lab's server and the manager's agent) and ``docker stack deploy`` on
the manager; both figures include their CLI's start-up.

Run as root: ``.venv/bin/python bench/stacks_swarm_bench.py [--runs 3] [--services 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402
from fleetdeck.lab import Lab, LabRecord, NodeRecord  # noqa: E402


def stack_file(image: str, services: int) -> str:
    """A stack of ``services`` small services on one overlay network (Compose 3.8)."""
    lines = ['version: "3.8"', "services:"]
    for index in range(services):
        lines += [
            f"  svc{index}:",
            f"    image: {image}",
            '    command: ["sleep", "3600"]',
            "    networks: [app]",
            "    deploy:",
            "      replicas: 1",
        ]
    lines += ["networks:", "  app:", "    driver: overlay"]
    return "\n".join(lines) + "\n"


def docker(node: NodeRecord, *args: str) -> str:
    """Run the docker CLI against the node's engine."""
    proc = subprocess.run(
        ["docker", "--host", node.docker_host, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return proc.stdout


def all_running(node: NodeRecord, stack: str, services: int) -> bool:
    """Whether every service of the stack shows all its replicas running."""
    out = docker(node, "stack", "services", stack, "--format", "{{.Replicas}}").split()
    return len(out) == services and all(r.split("/")[0] == r.split("/")[1] for r in out)


def versions(node: NodeRecord, stack: str) -> dict[str, int]:
    """Service name → spec version (changes whenever a service is updated)."""
    names = docker(node, "stack", "services", stack, "--format", "{{.Name}}").split()
    return {
        s["Spec"]["Name"]: s["Version"]["Index"]
        for s in json.loads(docker(node, "service", "inspect", *names))
    }


def remove(node: NodeRecord, stack: str) -> None:
    """``docker stack rm`` and wait until its networks are gone."""
    subprocess.run(
        ["docker", "--host", node.docker_host, "stack", "rm", stack],
        capture_output=True,
        check=False,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        nets = docker(node, "network", "ls", "--format", "{{.Name}}").split()
        if not [n for n in nets if n.startswith(f"{stack}_")]:
            return
        time.sleep(0.5)


def docker_round(
    node: NodeRecord, path: Path, stack: str, services: int
) -> tuple[float, float, float, bool]:
    """(command returned, converged, unchanged re-deploy, re-deploy changed something)."""
    start = time.perf_counter()
    docker(node, "stack", "deploy", "-c", str(path), stack)
    returned = time.perf_counter() - start
    while not all_running(node, stack, services):
        time.sleep(0.2)
    converged = time.perf_counter() - start
    before = versions(node, stack)
    start = time.perf_counter()
    docker(node, "stack", "deploy", "-c", str(path), stack)
    again = time.perf_counter() - start
    changed = versions(node, stack) != before
    remove(node, stack)
    return returned, converged, again, changed


def fleetdeck(record: LabRecord, *args: str) -> None:
    """Run the fleetdeck CLI against the lab's server (as an operator's script would)."""
    assert record.server is not None
    env = {
        **os.environ,
        "FLEETDECK_URL": record.server.url,
        "FLEETDECK_TOKEN": record.server.token,
        "FLEETDECK_CA_CERT": record.server.ca_cert,
    }
    subprocess.run(
        [sys.executable, "-m", "fleetdeck", *args], env=env, capture_output=True, check=True
    )


def fleetdeck_round(record: LabRecord, path: Path, stack: str) -> tuple[float, float, bool]:
    """(cold deploy to converged, unchanged re-deploy, re-deploy changed something)."""
    node = record.nodes[0]
    deploy = ("stack", "deploy", stack, "-f", str(path), "--env", "swarm")
    start = time.perf_counter()
    fleetdeck(record, *deploy)
    cold = time.perf_counter() - start
    before = versions(node, stack)
    start = time.perf_counter()
    fleetdeck(record, *deploy)
    again = time.perf_counter() - start
    changed = versions(node, stack) != before
    fleetdeck(record, "stack", "rm", stack, "--yes")
    remove(node, stack)
    return cold, again, changed


def med(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.2f} s (min {min(samples):.2f}, max {max(samples):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--name", default="benchswarm")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    lab = Lab(args.name)
    lab.down()
    record, _ = lab.up(nodes=3, swarm=True, server=True)
    manager = record.nodes[0]
    results: dict[str, list[float]] = {
        k: [] for k in ("fd_cold", "fd_again", "dk_ret", "dk_conv", "dk_again")
    }
    changed = {"fleetdeck": False, "docker": False}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "compose.yaml"
            path.write_text(stack_file(record.images["base"], args.services))
            # warm-up: every node pulls the image once, for both tools alike
            docker_round(manager, path, "warm", args.services)
            for run in range(args.runs):
                cold, again, touched = fleetdeck_round(record, path, f"fd{run}")
                results["fd_cold"].append(cold)
                results["fd_again"].append(again)
                changed["fleetdeck"] |= touched
                ret, conv, dk_again, dk_touched = docker_round(
                    manager, path, f"dk{run}", args.services
                )
                results["dk_ret"].append(ret)
                results["dk_conv"].append(conv)
                results["dk_again"].append(dk_again)
                changed["docker"] |= dk_touched
    finally:
        lab.down()
    n = args.services
    print(f"{n}-service stack on a 3-node Swarm, medians of {args.runs} runs")
    rows = [
        ("cold deploy, fleetdeck CLI (to converged)", med(results["fd_cold"])),
        ("  anchor: docker stack deploy (to converged)", med(results["dk_conv"])),
        ("  anchor: docker stack deploy (command return)", med(results["dk_ret"])),
        (
            "unchanged re-deploy, fleetdeck CLI",
            f"{med(results['fd_again'])}  services changed: {changed['fleetdeck']}",
        ),
        (
            "  anchor: docker stack deploy again",
            f"{med(results['dk_again'])}  services changed: {changed['docker']}",
        ),
    ]
    for label, value in rows:
        print(f"{label:<48}{value}")


if __name__ == "__main__":
    main()
