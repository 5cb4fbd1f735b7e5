"""Benchmark: stack deploys on a plain host, fleetdeck against Debian's docker-compose.

Every figure is printed next to its anchor, measured in the same run on the same lab node:

* cold deploy of a 10-service stack (images already on the node) and an unchanged re-deploy:
  ``fleetdeck stack deploy`` (plans through the server and agent, waits until every service
  has converged) against ``docker-compose -H unix://<node socket> up -d`` of the same file
  (the anchor); medians over ``--rounds`` rounds, each on a fresh project name;
* failed requests during a rolling update of a 3-replica web service (lab ``web`` v1 → v2):
  a load container on the stack's network requests ``http://web/`` in a loop (a fresh
  DNS answer each time, 5 s timeout) from before the update until after it ends;
  fleetdeck's rolling update against ``docker-compose up -d`` of the same change (the
  anchor), per round, medians.

Run as root after ``scripts/setup.sh``:
``.venv/bin/python bench/stacks_bench.py [--rounds 3]
[--tools fleetdeck,compose]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, summary  # noqa: E402
from fleetdeck.lab import Lab, LabRecord  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

SERVICES = 10
LOAD_SETTLE_S = 2.0
#: One request per loop to the address "web" resolves to now (static busybox's wget cannot
#: resolve names and crashes with -T, so nslookup resolves and timeout bounds the request).
LOAD_SCRIPT = (
    "while true; do ip=$(nslookup web 2>/dev/null | awk '/^Address: / {print $2; exit}'); "
    'if [ -n "$ip" ] && timeout 5 wget -q -O /dev/null "http://$ip/"; '
    "then echo ok; else echo fail; fi; done"
)


def ten_services(image: str) -> str:
    """A 10-service stack: one network, one sleeping container per service."""
    lines = ["services:"]
    for i in range(SERVICES):
        lines += [f"  s{i}:", f"    image: {image}", '    command: ["sleep", "86400"]']
        lines += ["    stop_grace_period: 1s"]
    return "\n".join(lines) + "\n"


def web_stack(image: str) -> str:
    """The 3-replica web service (its image's HEALTHCHECK gates a rolling update)."""
    return (
        "services:\n  web:\n"
        f"    image: {image}\n"
        "    deploy:\n      replicas: 3\n"
        "      update_config:\n        order: start-first\n        parallelism: 1\n"
    )


class Tools:
    """The two deployers and the node's engine, as a user would call them."""

    def __init__(self, record: LabRecord, workdir: Path) -> None:
        assert record.server is not None
        self.record = record
        self.node = record.nodes[0]
        self.env = self.node.name
        self.workdir = workdir
        self.cli_env = {
            **os.environ,
            "FLEETDECK_URL": record.server.url,
            "FLEETDECK_TOKEN": record.server.token,
            "FLEETDECK_CA_CERT": record.server.ca_cert,
        }

    def write(self, name: str, text: str) -> Path:
        """Write a stack file into the work dir."""
        path = self.workdir / name
        path.write_text(text)
        return path

    def run(self, argv: list[str], env: dict[str, str] | None = None, check: bool = True) -> str:
        """Run a command; stop the benchmark with its stderr when it fails."""
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=600, check=False, env=env
        )
        if check and proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc.stdout

    def docker(self, *args: str) -> str:
        """The docker CLI on the lab node's engine."""
        return self.run(["docker", "-H", self.node.docker_host, *args])

    def fleetdeck(self, *args: str) -> str:
        """The fleetdeck CLI against the lab's server."""
        return self.run([sys.executable, "-m", "fleetdeck", *args], env=self.cli_env)

    def fd_deploy(self, project: str, file: Path) -> None:
        """``fleetdeck stack deploy`` (returns once converged and healthy)."""
        self.fleetdeck("stack", "deploy", project, "-f", str(file), "--env", self.env)

    def fd_remove(self, project: str) -> None:
        """``fleetdeck stack rm``, waiting for its containers to go.

        The CLI may give up waiting for the answer on a loaded machine while the server goes
        on removing: what counts is that the containers are gone.
        """
        argv = [sys.executable, "-m", "fleetdeck", "stack", "rm", project, "--yes"]
        self.run(argv, env=self.cli_env, check=False)
        deadline = time.monotonic() + 300
        while self.count(project) and time.monotonic() < deadline:
            time.sleep(1)

    def dc(self, project: str, file: Path, *args: str, check: bool = True) -> None:
        """Debian's docker-compose on the lab node's engine."""
        argv = ["docker-compose", "-H", self.node.docker_host, "-p", project, "-f", str(file)]
        self.run([*argv, *args], check=check)

    def dc_deploy(self, project: str, file: Path) -> None:
        """``docker-compose up -d``."""
        self.dc(project, file, "up", "-d")

    def dc_remove(self, project: str, file: Path) -> None:
        """``docker-compose down``."""
        # dockerd 20.10 sometimes still counts a just-removed endpoint: retry the network.
        self.dc(project, file, "down", "-t", "1", check=False)
        for _ in range(20):
            if not self.docker("network", "ls", "-q", "--filter", f"name={project}_default"):
                return
            self.run(
                ["docker", "-H", self.node.docker_host, "network", "rm", f"{project}_default"],
                check=False,
            )
            time.sleep(0.5)

    def count(self, project: str) -> int:
        """How many containers carry the project's label."""
        out = self.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}")
        return len(out.split())


def timed(work: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    work()
    return time.perf_counter() - t0


def deploy_round(tools: Tools, which: str, rnd: int) -> tuple[float, float]:
    """Cold deploy and unchanged re-deploy of the 10-service stack; then remove it."""
    file = tools.write("ten.yaml", ten_services(tools.record.images["base"]))
    project = f"bench-{which}-{rnd}"
    if which == "fleetdeck":
        cold = timed(lambda: tools.fd_deploy(project, file))
        again = timed(lambda: tools.fd_deploy(project, file))
        assert tools.count(project) == SERVICES, "duplicate or missing containers"
        tools.fd_remove(project)
    else:
        cold = timed(lambda: tools.dc_deploy(project, file))
        again = timed(lambda: tools.dc_deploy(project, file))
        assert tools.count(project) == SERVICES, "duplicate or missing containers"
        tools.dc_remove(project, file)
    return cold, again


def update_round(tools: Tools, which: str, rnd: int) -> tuple[int, int, float]:
    """Failed and total requests while web goes v1 → v2 under load; and the update's time."""
    images = tools.record.images
    v1 = tools.write("web1.yaml", web_stack(images["web"]))
    v2 = tools.write("web2.yaml", web_stack(images["web_v2"]))
    project = f"bench-roll-{which}-{rnd}"
    deploy = tools.fd_deploy if which == "fleetdeck" else tools.dc_deploy
    deploy(project, v1)
    wait_healthy(tools, project, 3)
    load = f"{project}-load"
    tools.docker(
        "run", "-d", "--name", load, "--network", f"{project}_default",
        images["base"], "sh", "-c", LOAD_SCRIPT,
    )  # fmt: skip
    try:
        time.sleep(LOAD_SETTLE_S)
        took = timed(lambda: deploy(project, v2))
        time.sleep(LOAD_SETTLE_S)
        tools.docker("stop", "-t", "1", load)
        lines = tools.docker("logs", load).split()
    finally:
        tools.docker("rm", "-f", load)
        if which == "fleetdeck":
            tools.fd_remove(project)
        else:
            tools.dc_remove(project, v2)
    return lines.count("fail"), len(lines), took


def wait_healthy(tools: Tools, project: str, want: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = tools.docker(
            "ps", "--filter", f"label=com.docker.compose.project={project}",
            "--filter", "health=healthy", "-q",
        )  # fmt: skip
        if len(out.split()) >= want:
            return
        time.sleep(0.3)
    raise SystemExit(f"{project}: {want} healthy replicas never showed up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tools", default="fleetdeck,compose")
    parser.add_argument("--name", default="benchstacks")
    parser.add_argument(
        "--existing", action="store_true", help="use the running lab --name (with --server)"
    )
    args = parser.parse_args()
    which = [t for t in ("fleetdeck", "compose") if t in args.tools.split(",")]
    compose_version = subprocess.run(
        ["docker-compose", "version", "--short"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"machine: {machine()}; docker-compose {compose_version}")
    lab = Lab(args.name)
    if args.existing:
        record = lab.require_record()
    else:
        lab.down()
        record, _ = lab.up(nodes=1, server=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tools = Tools(record, Path(tmp))
            for image in record.images.values():
                tools.docker("pull", image)
            report(tools, which, args.rounds)
    finally:
        if not args.existing:
            lab.down()


def startup(tool: str) -> float:
    """One start of the tool's CLI printing its version: the floor under every call.

    A no-op re-deploy is mostly this for both tools, so it is printed beside their figures.
    """
    command = (
        [sys.executable, "-m", "fleetdeck", "version"]
        if tool == "fleetdeck"
        else ["docker-compose", "version", "--short"]
    )
    return timed(lambda: subprocess.run(command, capture_output=True, check=True))


def report(tools: Tools, which: list[str], rounds: int) -> None:
    cold: dict[str, list[float]] = {t: [] for t in which}
    again: dict[str, list[float]] = {t: [] for t in which}
    fails: dict[str, list[tuple[int, int, float]]] = {t: [] for t in which}
    for rnd in range(rounds):
        for tool in which:  # interleaved, so both see the same machine load
            c, a = deploy_round(tools, tool, rnd)
            cold[tool].append(c)
            again[tool].append(a)
            fails[tool].append(update_round(tools, tool, rnd))
    label = {"fleetdeck": "fleetdeck stack deploy", "compose": "docker-compose up -d (anchor)"}
    print(f"\n10-service stack, cold deploy ({rounds} rounds, images present):")
    for tool in which:
        print(f"  {label[tool]:32s} {summary(cold[tool])}")
    print("unchanged re-deploy of the same stack:")
    for tool in which:
        print(f"  {label[tool]:32s} {summary(again[tool])}")
    print("the CLI's own start-up (printing its version, 5 runs each):")
    for tool in which:
        print(f"  {label[tool]:32s} {summary([startup(tool) for _ in range(5)])}")
    print("rolling update web v1 -> v2, 3 replicas, under load (failed / total requests):")
    for tool in which:
        runs = fails[tool]
        each = ", ".join(f"{f}/{n}" for f, n, _ in runs)
        med = statistics.median(f for f, _, _ in runs)
        took = summary([t for _, _, t in runs])
        print(f"  {label[tool]:32s} median {med:g} failed (rounds: {each}); update {took}")


if __name__ == "__main__":
    main()
