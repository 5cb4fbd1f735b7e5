"""Benchmark: installing the agent from the server by script, next to a bare pip install.

On a lab of one node and a server (no agent) serving this checkout's wheelhouse, a systemd
"host" container in the node's namespace (:mod:`fleetdeck.lab.systemd_host`) runs, round by
round and interleaved so both see the same machine load:

* **figure**: the install line ``fleetdeck env add`` prints (a new environment each round),
  from pasting it to the environment shown ``up`` by the server — checks, downloads from the
  server with their digests checked, venv, pip, systemd unit, enrolment, start — then
  ``--uninstall`` (not timed);
* **anchor**: ``python3 -m venv`` + ``pip install --no-index --find-links WHEELHOUSE
  fleetdeck`` of the same wheelhouse, already on the host's disk, in the same host: the floor
  of any install of these wheels there.

Medians over the rounds (default 3). Run as root:
``.venv/bin/python bench/install_bench.py [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from tests.integration.install_helpers import (  # noqa: E402
    InstallLab,
    fleetdeck_cli,
    new_environment,
    up_install_lab,
    wheelhouse,
)

from common import machine, summary  # noqa: E402
from fleetdeck.lab.system import run  # noqa: E402
from fleetdeck.lab.systemd_host import SystemdHost  # noqa: E402

LAB = "installbench"
UP_TIMEOUT_S = 120.0


def _wait_up(lab: InstallLab, name: str) -> None:
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        envs = json.loads(fleetdeck_cli("env", "ls", "-o", "json", env=lab.cli_env).stdout)
        if any(e["name"] == name and e["status"] == "up" for e in envs):
            return
        time.sleep(0.2)
    raise SystemExit(f"environment {name} did not come up")


def _script_round(lab: InstallLab, host: SystemdHost, index: int) -> float:
    name = f"bench{index}"
    line = new_environment(lab, name)["install_command"]
    start = time.monotonic()
    proc = host.bash(line)
    if proc.returncode != 0:
        raise SystemExit(f"install failed: {proc.stderr.strip()}")
    _wait_up(lab, name)
    elapsed = time.monotonic() - start
    host.exec("sh", "/opt/fleetdeck-agent/agent.sh", "--uninstall")
    fleetdeck_cli("env", "rm", name, "--yes", env=lab.cli_env)
    return elapsed


def _anchor_round(host: SystemdHost) -> float:
    start = time.monotonic()
    proc = host.exec(
        "sh",
        "-c",
        "python3 -m venv /root/anchor && /root/anchor/bin/pip install --quiet --no-index "
        "--disable-pip-version-check --find-links /root/wheelhouse fleetdeck",
    )
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"anchor pip install failed: {proc.stderr.strip()}")
    host.exec("rm", "-rf", "/root/anchor")
    return elapsed


def main() -> None:
    """Bring the lab up, run the rounds, print the figures, take the lab down."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="install-bench-") as tmp:
        house = wheelhouse(Path(tmp) / "wheelhouse")
        lab = up_install_lab(LAB, house)
        try:
            host = SystemdHost(lab.record.nodes[0], "bench-host").start()
            run([*host.docker, "cp", str(house), "bench-host:/root/wheelhouse"], timeout=120)
            script: list[float] = []
            anchor: list[float] = []
            for index in range(args.rounds):
                script.append(_script_round(lab, host, index))
                anchor.append(_anchor_round(host))
                print(f"round {index + 1}: script {script[-1]:.1f}s, anchor {anchor[-1]:.1f}s")
            wheels = len(list(house.glob("*.whl")))
            print(f"agent install from the server by script, to env up: {summary(script)}")
            print(f"anchor: venv + pip install --no-index of the same {wheels} wheels: "
                  f"{summary(anchor)}")  # fmt: skip
        finally:
            lab.lab.down()


if __name__ == "__main__":
    main()
