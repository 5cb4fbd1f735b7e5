"""Benchmark: load start → new replica serving, through the autoscaler, on a plain-host stack.

Every figure is printed next to its anchor, measured in the same run on the same lab node:

* **load start → a third replica serving** (healthy, so named): a 2-replica web service
  (``cpus: 0.5``) under a CPU burn, the autoscaler at its defaults (15 s sync, HPA's), a
  policy ``--min 2 --max 4 --cpu 10``; the anchor is ``fleetdeck scale STACK/web=3`` → the
  third replica serving (what the autoscaler's own scale costs, without the detection), and
  the fixed figures the issue names: HPA's 15 s sync and the seed's 60 s;
* **failed requests** during the scale-up and the scale-down that follows (policy removed,
  ``fleetdeck scale`` back to 2) under a steady load from a container on the stack network
  that resolves ``web`` per request (goal 0).

Medians over ``--rounds`` rounds. Run as root after ``scripts/setup.sh``:
``.venv/bin/python bench/autoscale_bench.py [--rounds 1]``.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402
from fleetdeck.lab import Lab, LabRecord  # noqa: E402

HPA_SYNC_S = 15.0
SEED_S = 60.0
LOADER = (
    "while true; do ip=$$(nslookup web 2>/dev/null | awk '/^Address: / {print $$2; exit}'); "
    'if [ -n "$$ip" ] && timeout 5 wget -q -O /dev/null http://$$ip/cgi-bin/hello; '
    "then echo OK; else echo FAIL; fi; sleep 0.05; done"
)
COMPOSE = """
services:
  web:
    image: {web}
    cpus: 0.5
    deploy: {{replicas: 2}}
  loader:
    image: {base}
    command: ["sh", "-c", {loader}]
    depends_on:
      web: {{condition: service_healthy}}
"""


class Bench:
    """One lab node with a server; the CLI and docker against it."""

    def __init__(self, record: LabRecord, tmp: Path) -> None:
        assert record.server is not None
        self.record, self.tmp, self.node = record, tmp, record.nodes[0]
        self.env = {**os.environ, "FLEETDECK_URL": record.server.url,
                    "FLEETDECK_TOKEN": record.server.token,
                    "FLEETDECK_CA_CERT": record.server.ca_cert}  # fmt: skip

    def cli(self, *args: str) -> str:
        """Run the real CLI; its output."""
        proc = subprocess.run([sys.executable, "-m", "fleetdeck", *args], env=self.env,
                              capture_output=True, text=True, check=True, timeout=600)  # fmt: skip
        return proc.stdout

    def docker(self, *args: str) -> str:
        """Run docker against the node's engine; its output."""
        proc = subprocess.run(["docker", "--host", self.node.docker_host, *args],
                              capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
        return proc.stdout

    def healthy(self, stack: str) -> int:
        """How many of the stack's web replicas are healthy."""
        out = self.docker("ps", "--filter", f"label=com.docker.compose.project={stack}",
                          "--filter", "label=com.docker.compose.service=web",
                          "--format", "{{.Names}} {{.Status}}")  # fmt: skip
        return sum("(healthy)" in line and line.startswith(f"{stack}-web-")
                   for line in out.splitlines())  # fmt: skip

    def fails(self, stack: str) -> int:
        """Requests the loader saw fail."""
        return self.docker("logs", f"{stack}-loader-1").split().count("FAIL")

    def round(self) -> tuple[float, float, int]:
        """(load → 3rd replica serving, scale by hand → serving, failed requests)."""
        stack = f"ab{uuid.uuid4().hex[:6]}"
        path = self.tmp / f"{stack}.yaml"
        images = self.record.images
        path.write_text(COMPOSE.format(web=images["web"], base=images["base"],
                                       loader=json.dumps(LOADER)))  # fmt: skip
        self.cli("stack", "deploy", stack, "-f", str(path), "--env", self.node.name)
        start = time.monotonic()
        self.cli("scale", f"{stack}/web=3")
        anchor = time.monotonic() - start
        self.cli("scale", f"{stack}/web=2")
        self.cli("autoscale", "set", f"{stack}/web", "--min", "2", "--max", "4", "--cpu", "10")
        start = time.monotonic()
        for name in [f"{stack}-web-1", f"{stack}-web-2"]:
            for _ in range(2):
                self.docker("exec", "-d", name, "wget", "-q", "-O", "/dev/null",
                            "http://127.0.0.1/cgi-bin/cpu?seconds=120")  # fmt: skip
        while self.healthy(stack) < 3:
            if time.monotonic() - start > 300:
                raise SystemExit(f"{stack}: the load never scaled it up")
            time.sleep(0.25)
        figure = time.monotonic() - start
        self.cli("autoscale", "rm", f"{stack}/web")
        for _ in range(240):  # the autoscaler's own scale may still run: 409 until it ended
            try:
                self.cli("scale", f"{stack}/web=2")
                break
            except subprocess.CalledProcessError:
                time.sleep(0.5)
        failed = self.fails(stack)
        self.cli("stack", "rm", stack, "-y")
        return figure, anchor, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--name", default="asbench")
    args = parser.parse_args()
    lab = Lab(args.name)
    lab.down()
    record, _ = lab.up(nodes=1, server=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bench = Bench(record, Path(tmp))
            rounds = [bench.round() for _ in range(args.rounds)]
    finally:
        lab.down()
    figure = statistics.median(r[0] for r in rounds)
    anchor = statistics.median(r[1] for r in rounds)
    failed = statistics.median(r[2] for r in rounds)
    print(machine())
    print(f"rounds: {args.rounds}")
    print(f"load start -> 3rd replica serving (autoscaler, 15 s sync): {figure:.1f} s "
          f"(goal <= 30 s) | anchors: fleetdeck scale -> serving {anchor:.1f} s (same run), "
          f"HPA sync {HPA_SYNC_S:.0f} s, seed {SEED_S:.0f} s")  # fmt: skip
    print(f"failed requests during scale-up and scale-down under load: {failed:g} (goal 0)")


if __name__ == "__main__":
    main()
