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

fleetdeck runs in-process here, over the server's own mutual-TLS links to the lab's agents
(the same applier the server's stack service uses), so the figure is the applier's work and
the agent round trips, not the CLI's start-up.

Run as root: ``.venv/bin/python bench/stacks_swarm_bench.py [--runs 3] [--services 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.swarm_stack_helpers import ENV, Recorder, applier_for  # noqa: E402

from common import machine  # noqa: E402
from fleetdeck.compose import load_project  # noqa: E402
from fleetdeck.lab import Lab, LabRecord, NodeRecord  # noqa: E402
from fleetdeck.server.stacks.plan import DeployTarget, Strategy, TargetKind  # noqa: E402


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


async def fleetdeck_round(record: LabRecord, path: Path, stack: str) -> tuple[float, float, bool]:
    """(cold deploy to converged, unchanged re-deploy, re-deploy changed something)."""
    node = record.nodes[0]
    project = load_project([path], project_name=stack, env={})
    target = DeployTarget(stack, ENV, TargetKind.swarm)
    async with applier_for(record) as applier:
        start = time.perf_counter()
        plan = await applier.plan(project, target)
        outcome = await applier.apply(
            project, plan, target, strategy=Strategy.auto, progress=Recorder()
        )
        cold = time.perf_counter() - start
        assert outcome.ok, outcome.message
        before = versions(node, stack)
        start = time.perf_counter()
        plan = await applier.plan(project, target)
        outcome = await applier.apply(
            project, plan, target, strategy=Strategy.auto, progress=Recorder()
        )
        again = time.perf_counter() - start
        assert outcome.ok, outcome.message
        changed = versions(node, stack) != before
        await applier.remove(stack, target, progress=Recorder())
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
                cold, again, touched = asyncio.run(fleetdeck_round(record, path, f"fd{run}"))
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
    print(f"cold deploy, fleetdeck (to converged)          {med(results['fd_cold'])}")
    print(f"  anchor: docker stack deploy (to converged)   {med(results['dk_conv'])}")
    print(f"  anchor: docker stack deploy (command return) {med(results['dk_ret'])}")
    print(
        f"unchanged re-deploy, fleetdeck                 {med(results['fd_again'])}"
        f"  services changed: {'yes' if changed['fleetdeck'] else 'no'}"
    )
    print(
        f"  anchor: docker stack deploy again            {med(results['dk_again'])}"
        f"  services changed: {'yes' if changed['docker'] else 'no'}"
    )


if __name__ == "__main__":
    main()
