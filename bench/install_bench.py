"""Benchmark: installing the agent from the server, by script and by container; sizes; RSS.

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

Then, with the server serving the agent image tarball too (built from this checkout's
Dockerfile, :mod:`fleetdeck.lab.product_images`), on the node's engine:

* **figure**: the container install: the ``image_load_command`` (``curl … | docker load``
  from the server) and the ``docker_command`` of ``env add``, to the environment ``up``;
* **anchor**: ``docker load -i`` of the same tarball from local disk (the image removed
  before each round, so every load is a real one; the layers it shares with the server
  image, which stays on the node, are not loaded again — the same for both).

And, once both agents run (a service agent in the host, a container agent on the node):

* the images' sizes (server, agent) next to their base image's;
* the agent's resident memory as a systemd service and as a container, next to a bare
  ``python3 -c`` interpreter's in the same place (the host's Python; the image's Python).

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

from common import machine, rss_mb, summary  # noqa: E402
from fleetdeck.lab import debian_base  # noqa: E402
from fleetdeck.lab.fleet_server import AGENT_CONTAINER  # noqa: E402
from fleetdeck.lab.product_images import build_product_images, local_refs  # noqa: E402
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


#: A bare interpreter's resident memory, in kB, as the kernel counts it for the process itself.
BARE_RSS = "import re; print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read())[1])"
SETTLE_S = 10.0


def _docker(lab: InstallLab) -> list[str]:
    return ["docker", "--host", lab.record.nodes[0].docker_host]


def _container_round(lab: InstallLab, index: int, tarball: Path) -> tuple[float, float]:
    """(the install from the server to env up, the anchor ``docker load`` of the tarball)."""
    docker, agent = _docker(lab), local_refs()[1]
    node = lab.record.nodes[0]
    socket = node.docker_host.removeprefix("unix://")
    run([*docker, "rmi", "-f", agent], check=False)
    start = time.monotonic()
    run([*docker, "load", "-q", "-i", str(tarball)], timeout=300)
    anchor = time.monotonic() - start
    run([*docker, "rmi", "-f", agent], check=False)
    name = f"cbench{index}"
    created = new_environment(lab, name)
    lines = [
        created["image_load_command"].replace("| docker load", f"| {' '.join(docker)} load"),
        created["docker_command"]
        .replace("docker run", f"{' '.join(docker)} run", 1)
        .replace("/var/run/docker.sock:", f"{socket}:", 1),
    ]
    start = time.monotonic()
    for line in lines:
        proc = run(["bash", "-c", line], check=False, timeout=300)
        if proc.returncode != 0:
            raise SystemExit(f"container install failed: {proc.stderr.strip()}")
    _wait_up(lab, name)
    return time.monotonic() - start, anchor


def _remove_container_agent(lab: InstallLab, index: int) -> None:
    run([*_docker(lab), "rm", "-f", AGENT_CONTAINER], check=False)
    run([*_docker(lab), "volume", "rm", "fleetdeck-agent"], check=False)
    fleetdeck_cli("env", "rm", f"cbench{index}", "--yes", env=lab.cli_env)


def _size_mb(lab: InstallLab, ref: str) -> float:
    out = run([*_docker(lab), "image", "inspect", "--format", "{{.Size}}", ref]).stdout
    return int(out.strip()) / 1e6


def _memory(lab: InstallLab, host: SystemdHost) -> list[str]:
    """Both agents' RSS next to a bare interpreter's, in the same places."""
    docker, agent = _docker(lab), local_refs()[1]
    # Port 9002: the container agent shares the node's network namespace and has 9001.
    line = new_environment(lab, "rss-svc")["install_command"] + " --port 9002"
    if host.bash(line).returncode != 0:
        raise SystemExit("the service agent did not install")
    _wait_up(lab, "rss-svc")
    _container_round(lab, 99, lab_tarball(lab))
    time.sleep(SETTLE_S)
    # The host has its own PID namespace: its MainPID is read there.
    out = host.exec("systemctl", "show", "-p", "MainPID", "--value", "fleetdeck-agent").stdout
    status = host.exec("cat", f"/proc/{int(out.strip())}/status").stdout
    service = (
        int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS:"))) / 1024
    )
    pid = run([*docker, "inspect", "--format", "{{.State.Pid}}", AGENT_CONTAINER]).stdout
    container = rss_mb(int(pid.strip()))
    bare_host = int(host.exec("python3", "-c", BARE_RSS).stdout.strip()) / 1024
    bare_image = run([*docker, "run", "--rm", "--entrypoint", "python", agent, "-c", BARE_RSS])
    bare_container = int(bare_image.stdout.strip()) / 1024
    host.exec("sh", "/opt/fleetdeck-agent/agent.sh", "--uninstall")
    _remove_container_agent(lab, 99)
    return [
        f"agent RSS as a systemd service: {service:.1f} MB "
        f"(anchor: python3 -c in the same host {bare_host:.1f} MB)",
        f"agent RSS as a container: {container:.1f} MB "
        f"(anchor: python -c in the agent image {bare_container:.1f} MB)",
    ]


def lab_tarball(lab: InstallLab) -> Path:
    """The agent image tarball the server serves (``docker save`` of the built image)."""
    return Path(lab.server.data_dir) / "bench-agent-image.tar"


def _container_bench(lab: InstallLab, host: SystemdHost, house: Path, rounds: int) -> None:
    node = lab.record.nodes[0]
    built = build_product_images(node, lab.record.registry)
    tarball = lab_tarball(lab)
    run([*_docker(lab), "save", "-o", str(tarball), local_refs()[1]], timeout=300)
    args = ("server", "agent-dist", "--data-dir", lab.server.data_dir, "--from", str(house))
    if fleetdeck_cli(*args, "--image", str(tarball)).returncode != 0:
        raise SystemExit("agent-dist --image failed")
    install: list[float] = []
    load: list[float] = []
    for index in range(rounds):
        took, anchor = _container_round(lab, index, tarball)
        _remove_container_agent(lab, index)
        install.append(took)
        load.append(anchor)
        print(f"round {index + 1}: container {took:.1f}s, docker load {anchor:.1f}s")
    size = tarball.stat().st_size / 1e6
    print(f"agent install from the server as a container, to env up: {summary(install)}")
    print(f"anchor: docker load -i of the same {size:.0f} MB tarball: {summary(load)}")
    base = debian_base.import_base(_docker(lab), f"{lab.record.registry}/bench/python-base:anchor")
    sizes = [_size_mb(lab, ref) for ref in (built.server, built.agent, base)]
    print(f"image sizes: server {sizes[0]:.0f} MB, agent {sizes[1]:.0f} MB "
          f"(anchor: their base image {sizes[2]:.0f} MB)")  # fmt: skip
    for line in _memory(lab, host):
        print(line)


def main() -> None:
    """Bring the lab up, run the rounds, print the figures, take the lab down."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-script", action="store_true", help="Only the container part.")
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
            for index in range(0 if args.skip_script else args.rounds):
                script.append(_script_round(lab, host, index))
                anchor.append(_anchor_round(host))
                print(f"round {index + 1}: script {script[-1]:.1f}s, anchor {anchor[-1]:.1f}s")
            wheels = len(list(house.glob("*.whl")))
            if script:
                print(f"agent install from the server by script, to env up: {summary(script)}")
                print(f"anchor: venv + pip install --no-index of the same {wheels} wheels: "
                      f"{summary(anchor)}")  # fmt: skip
            _container_bench(lab, host, house, args.rounds)
        finally:
            lab.lab.down()


if __name__ == "__main__":
    main()
