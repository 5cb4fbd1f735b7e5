"""Issue #14 done-when (a): the install line ``env add`` prints, on a host of the lab alone.

A lab of one node and a server without agents; the server serves a wheelhouse of this
checkout at /install/. The "host" is a systemd container on the node's engine in the node's
network namespace (the node's lab address, no route out of the lab) with the node's engine
as its Docker (:mod:`fleetdeck.lab.systemd_host`). The line is run there exactly as printed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import ssl
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from fleetdeck import pki
from fleetdeck.lab.system import run
from fleetdeck.lab.systemd_host import HOST_IMAGE, SystemdHost
from tests.conftest import lab_name
from tests.integration.install_helpers import (
    INSTALLED_PATHS,
    InstallLab,
    fleetdeck_cli,
    new_environment,
    up_install_lab,
    wheelhouse,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.lab
UP_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's agent wheelhouse."""
    return wheelhouse(tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture(scope="module")
def install_lab(house: Path) -> Iterator[InstallLab]:
    """The lab, its server serving this checkout's wheelhouse."""
    lab = up_install_lab(lab_name("install"), house)
    yield lab
    lab.lab.down()


@pytest.fixture(scope="module")
def host(install_lab: InstallLab) -> Iterator[SystemdHost]:
    """The systemd host on node1, with node1's engine as its Docker."""
    machine = SystemdHost(install_lab.record.nodes[0], "fd-host").start()
    yield machine
    machine.remove()


def _nothing_installed(host: SystemdHost) -> None:
    left = [p for p in INSTALLED_PATHS if host.exec("test", "-e", p).returncode == 0]
    assert left == [], f"left behind: {left}"
    assert host.exec("systemctl", "cat", "fleetdeck-agent.service").returncode != 0


def _refused(host: SystemdHost, line: str, reason: str, env: dict[str, str] | None = None) -> None:
    proc = host.bash(line, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [e for e in proc.stderr.splitlines() if e.startswith("fleetdeck-agent: error:")]
    assert len(errors) == 1 and reason in errors[0], proc.stderr
    _nothing_installed(host)


def _env_up(lab: InstallLab, name: str) -> dict[str, object]:
    deadline = time.monotonic() + UP_TIMEOUT_S
    nodes: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        listing = fleetdeck_cli("env", "ls", "-o", "json", env=lab.cli_env)
        envs = {e["name"]: e for e in json.loads(listing.stdout)}
        nodes = envs[name]["nodes"] if name in envs else []
        if envs.get(name, {}).get("status") == "up" and nodes:
            return nodes[0]
        time.sleep(0.5)
    raise AssertionError(f"environment {name} did not come up: {nodes}")


def _main_pid(host: SystemdHost) -> int:
    out = host.exec("systemctl", "show", "-p", "MainPID", "--value", "fleetdeck-agent").stdout
    return int(out.strip() or 0)


def _serve(lab: InstallLab, house: Path) -> None:
    args = ("server", "agent-dist", "--data-dir", lab.server.data_dir, "--from", str(house))
    assert fleetdeck_cli(*args).returncode == 0


def test_install_line_checks_everything_first_and_leaves_nothing_behind(
    install_lab: InstallLab, host: SystemdHost, house: Path, tmp_path: Path
) -> None:
    """Each refusal is one line and the host is as it was (run before the real install).

    About 20 s idle, up to ~60 s on a loaded machine: the half-way failure makes a real venv
    and runs pip in the host before pip fails.
    """
    assert "default" not in host.exec("ip", "route").stdout  # no route out of the lab
    created = new_environment(install_lab, "refused")
    line, token = created["install_command"], created["join_token"]
    nowhere = {"DOCKER_HOST": "unix:///nowhere.sock"}
    _refused(host, line, "no Docker engine answers at /nowhere.sock", nowhere)
    listener = host.exec("sh", "-c", "python3 -m http.server 9001 >/dev/null 2>&1 & echo $!")
    try:
        ready = "import socket; socket.create_connection(('127.0.0.1', 9001), 1)"
        deadline = time.monotonic() + 10
        while host.exec("python3", "-c", ready).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        _refused(host, line, "port 9001 is in use")
    finally:
        host.exec("kill", listener.stdout.strip())
    _refused(host, line.replace(token, token[:-8] + "AAAAAAAA"), "unknown join token")
    other_ca = f"FDJT-1-{'0' * 64}-{pki.parse_join_token(token)[1]}"
    _refused(host, line.replace(token, other_ca), "CA is not the one the join token names")
    # None of these used the token: the server still admits it.
    check = httpx.post(
        f"{install_lab.server.url}/install/token-check",
        json={"join_token": token},
        verify=ssl.create_default_context(cafile=install_lab.server.ca_cert),
        timeout=10,
    )
    assert check.status_code == 200 and check.json()["environment"] == "refused"
    # A failure half-way (pip cannot resolve: a wheel is missing) removes what it added.
    broken = tmp_path / "broken"
    shutil.copytree(house, broken)
    next(broken.glob("aiohttp-*.whl")).unlink()
    _serve(install_lab, broken)
    try:
        _refused(host, line, "pip could not install the agent from the server's wheelhouse")
    finally:
        _serve(install_lab, house)
    # Without systemd as PID 1 (a plain container of the same image): refused the same way.
    node = install_lab.record.nodes[0]
    docker = ["docker", "--host", node.docker_host, "run", "--rm", "--network", "host", HOST_IMAGE]
    proc = run([*docker, "bash", "-c", line], check=False, timeout=120)
    assert proc.returncode == 1 and "systemd is not running as PID 1" in proc.stderr, proc.stderr


def test_install_line_installs_enrols_restarts_and_uninstalls(
    install_lab: InstallLab, host: SystemdHost
) -> None:
    """Install, use it, kill -9 it, re-run, uninstall, and a used token refused.

    About 45 s idle, ~95 s on a loaded 2-core machine: the venv is made and 33 wheels
    installed with bytecode compiled inside the host — the real install, nothing skipped —
    and systemd's restart after ``kill -9`` waits RestartSec=5 before the agent reconnects.
    """
    created = new_environment(install_lab, "host")
    line = created["install_command"]
    proc = host.bash(line)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "installed and enrolled as host/" in proc.stdout
    node = _env_up(install_lab, "host")
    ps = fleetdeck_cli("ps", "--env", "host", "-o", "json", env=install_lab.cli_env)
    assert ps.returncode == 0 and "fd-host" in {c["name"] for c in json.loads(ps.stdout)}
    env_file = host.exec("cat", "/etc/fleetdeck/agent.env").stdout
    assert "FLEETDECK_JOIN_TOKEN" not in env_file  # the used token is not kept on disk
    cert = host.exec("cat", "/var/lib/fleetdeck/agent/agent.pem").stdout

    pid = _main_pid(host)
    assert pid > 0 and host.exec("kill", "-9", str(pid)).returncode == 0
    deadline = time.monotonic() + UP_TIMEOUT_S
    while _main_pid(host) in (0, pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _main_pid(host) not in (0, pid), "systemd did not restart the agent"
    assert _env_up(install_lab, "host")["name"] == node["name"]

    again = host.bash(line)  # the same line again: harmless, same identity
    assert again.returncode == 0 and "already enrolled as host/" in again.stdout, again.stderr
    same = host.exec("cat", "/var/lib/fleetdeck/agent/agent.pem").stdout
    assert hashlib.sha256(same.encode()).digest() == hashlib.sha256(cert.encode()).digest()
    assert _env_up(install_lab, "host")["name"] == node["name"]

    gone = host.bash(created["uninstall_command"])
    assert gone.returncode == 0, gone.stderr
    _nothing_installed(host)
    _refused(host, line, "this join token was used already")
