"""Benchmark: what one drift look costs, and how fast a hand-made Swarm change is undone.

1. **Cost of a plain-host look**: fleetdeck judges a host stack from the server's in-memory
   inventory (``drift.detect.host_drift``: labels only). Measured over the lab engine's own
   containers, copied to 50 stacks × 10 containers; the **anchor**, measured in the same run
   on the same engine, is what a poller without an inventory does for the same containers:
   one ``GET /containers/{id}/json`` per container (the engine's inspect).
2. **Hand change → undone** (needs a running lab with a server and a Swarm, ``--lab NAME``,
   e.g. ``fleetdeck lab up --swarm --server --name bench``): a one-service stack with
   ``x-fleetdeck: {drift: revert}`` is deployed, then ``docker service update --env-add`` is
   run ``--rounds`` times, each once the previous revert ended (a change made again while a
   revert still runs backs off, by design); the time from the update returning to the
   manager's spec no longer having the variable is printed (p50/max). Goal: under 5 s
   (driven by the inventory's task events, not by the 30 s sweep).

Run as root after ``scripts/setup.sh``: ``.venv/bin/python bench/drift_bench.py --lab NAME``.
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
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import engine_client, machine  # noqa: E402
from fleetdeck import labels  # noqa: E402
from fleetdeck.server.drift.desired import DesiredService, DesiredStack  # noqa: E402
from fleetdeck.server.drift.detect import host_drift  # noqa: E402
from fleetdeck.server.stacks.plan import TargetKind  # noqa: E402
from fleetdeck.wire.containers import EngineContainer  # noqa: E402

STACKS, PER_STACK = 50, 10


def _lab(name: str) -> dict[str, object]:
    out = subprocess.run(
        ["fleetdeck", "lab", "status", "--name", name, "-o", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    record: dict[str, object] = json.loads(out.stdout)
    return record


def look_cost(docker_host: str) -> None:
    """Figure 1: a host look over the inventory against one inspect per container."""
    with engine_client(docker_host) as engine:
        ids = [c["Id"] for c in engine.get("/containers/json", params={"all": "true"}).json()]
        if not ids:
            print("look cost: the engine has no container; skipped")
            return
        wanted = STACKS * PER_STACK
        started = time.perf_counter()
        for index in range(wanted):
            engine.get(f"/containers/{ids[index % len(ids)]}/json").raise_for_status()
        anchor = time.perf_counter() - started
    desired = DesiredStack(
        "s", "e", TargetKind.host, 1, {"web": DesiredService(PER_STACK, "img", "h", {"a": "b"})}
    )
    tags = {
        labels.COMPOSE_PROJECT: "s", labels.COMPOSE_SERVICE: "web",
        labels.COMPOSE_CONFIG_HASH: "h", labels.FLEETDECK_CONFIG_KEYS: '{"a": "b"}',
    }  # fmt: skip
    now = datetime.now(UTC)
    containers = [
        EngineContainer(
            id=f"{i:064d}",
            name=f"s-web-{i}",
            image="img",
            state="running",
            created=now,
            labels=tags,
        )  # fmt: skip
        for i in range(PER_STACK)
    ]
    started = time.perf_counter()
    for _ in range(STACKS):
        host_drift(desired, containers)
    ours = time.perf_counter() - started
    print(
        f"look over {STACKS} stacks × {PER_STACK} containers: fleetdeck {ours * 1000:.2f} ms "
        f"(inventory, no engine call) vs anchor {anchor * 1000:.0f} ms "
        f"({wanted} engine inspects, same engine, same run)"
    )


def _settled(fd: list[str], stack: str, env: dict[str, str]) -> None:
    """Wait until the stack is in sync with no revert counted (at most 120 s)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = subprocess.run([*fd, "drift", stack, "-o", "json"], env=env, capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        report = json.loads(out)
        if report["state"] == "in_sync" and not report["reverts"]:
            return
        time.sleep(0.5)


def revert_latency(lab: dict[str, object], rounds: int) -> None:
    """Figure 2: docker service update --env-add → undone by the revert policy."""
    server = lab["server"]
    assert isinstance(server, dict)  # noqa: S101 - the lab was made with --server
    env = {**os.environ, "FLEETDECK_URL": server["url"], "FLEETDECK_TOKEN": server["token"],
           "FLEETDECK_CA_CERT": server["ca_cert"]}  # fmt: skip
    nodes = lab["nodes"]
    images = lab["images"]
    assert isinstance(nodes, list) and isinstance(images, dict)  # noqa: S101
    manager = nodes[0]["docker_host"]
    stack = f"b{uuid.uuid4().hex[:6]}"
    text = (
        "x-fleetdeck: {drift: revert}\nservices:\n  web:\n"
        f"    image: {images['web']}\n    environment: {{GREETING: hi}}\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(text)
    fd = ["fleetdeck", "stack"]
    subprocess.run([*fd, "deploy", stack, "-f", handle.name, "--env", "swarm"], env=env,
                   check=True, capture_output=True)  # fmt: skip
    docker = ["docker", "--host", manager]
    samples: list[float] = []
    try:
        for number in range(rounds):
            _settled(fd, stack, env)  # the previous revert ended: its backoff was reset
            update = ["service", "update", "--detach", "--env-add", f"HAND={number}"]
            subprocess.run([*docker, *update, f"{stack}_web"], check=True, capture_output=True)
            started = time.monotonic()
            while time.monotonic() - started < 120:
                out = subprocess.run(
                    [*docker, "service", "inspect", f"{stack}_web", "--format",
                     "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"],
                    capture_output=True, text=True, check=True,
                ).stdout  # fmt: skip
                if "HAND=" not in out:
                    samples.append(time.monotonic() - started)
                    break
                time.sleep(0.1)
    finally:
        subprocess.run([*fd, "rm", stack, "-y"], env=env, check=False, capture_output=True)
        os.unlink(handle.name)
    if samples:
        print(
            f"--env-add → reverted: p50 {statistics.median(samples):.2f} s, "
            f"max {max(samples):.2f} s over {len(samples)}/{rounds} rounds (goal < 5 s)"
        )


def main() -> None:
    """Print both figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--lab", required=True, help="a running lab with --server --swarm")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    lab = _lab(args.lab)
    nodes = lab["nodes"]
    assert isinstance(nodes, list)  # noqa: S101
    look_cost(str(nodes[0]["docker_host"]))
    revert_latency(lab, args.rounds)


if __name__ == "__main__":
    main()
