"""The local agent supervisor with fake children: restart with backoff, stop, die with the parent.

The children here are ``sleep``/``sh``/``python`` stand-ins, run through the same
``PR_SET_PDEATHSIG`` wrapper as the real agent, so what is proven is the supervision, not
the agent (the lab tests run the real one).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.server.fleet.local import (
    LocalAgentSpec,
    LocalAgentSupervisor,
    agent_command,
    child_environment,
    with_pdeathsig,
)

if TYPE_CHECKING:
    import pytest


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie nobody reaped yet counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


async def _until(what: str, check: object, timeout: float = 10.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _record_start(path: Path, code: int) -> list[str]:
    """A child that appends its start time to ``path`` and exits with ``code``."""
    script = "import sys, time; open(sys.argv[1], 'a').write(f'{time.monotonic()}\\n')"
    return [sys.executable, "-c", f"{script}; sys.exit({code})", str(path)]


def _starts(path: Path) -> list[float]:
    return [float(x) for x in path.read_text().split()] if path.exists() else []


async def test_a_child_that_exits_is_restarted_with_growing_backoff(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    supervisor = LocalAgentSupervisor(
        tmp_path / "agents",
        command=lambda spec: _record_start(starts, 3),
        backoff_min=0.1,
        backoff_max=0.4,
    )
    await supervisor.start("dev", "unix:///nonexistent.sock")
    try:
        await _until("five starts", lambda: len(_starts(starts)) >= 5)
        assert supervisor.restarts("dev") >= 4
        # The delays the supervisor chose (not wall-clock gaps between starts, which carry
        # the interpreter's start-up and are at the mercy of a loaded machine): doubling
        # from backoff_min, capped at backoff_max.
        assert supervisor.restart_delays("dev")[:4] == [0.1, 0.2, 0.4, 0.4]
    finally:
        await supervisor.close()
    times = _starts(starts)
    assert len(times) >= 5
    await asyncio.sleep(0.6)
    assert len(_starts(starts)) == len(times)  # nothing restarts after close()


async def test_stop_terminates_the_child_and_it_is_not_restarted(tmp_path: Path) -> None:
    supervisor = LocalAgentSupervisor(tmp_path, command=lambda spec: ["sleep", "60"])
    url = await supervisor.start("dev", "unix:///x.sock")
    assert url.startswith("https://127.0.0.1:")
    assert await supervisor.start("dev", "unix:///x.sock") == url  # idempotent
    pid = supervisor.pid("dev")
    assert pid is not None
    await _until("the wrapper to exec sleep", lambda: _comm(pid) == "sleep")
    await supervisor.stop("dev")
    assert _gone(pid)
    assert supervisor.pid("dev") is None
    assert supervisor.url("dev") is None


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


async def test_a_child_ignoring_sigterm_is_killed_with_what_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"trap '' TERM; sleep 60 & echo $! > {pids}; wait"
    supervisor = LocalAgentSupervisor(
        tmp_path / "agents", command=lambda spec: ["sh", "-c", script], stop_grace=0.3
    )
    await supervisor.start("dev", "unix:///x.sock")
    pid = supervisor.pid("dev")
    assert pid is not None
    await _until("the grandchild", lambda: pids.exists() and pids.read_text().strip())
    grandchild = int(pids.read_text())
    started = time.monotonic()
    await supervisor.stop("dev")
    assert time.monotonic() - started >= 0.3  # SIGTERM was ignored, SIGKILL followed
    assert _gone(pid)
    await _until("the grandchild to die", lambda: _gone(grandchild), timeout=2)


async def test_remove_deletes_the_state_dir(tmp_path: Path) -> None:
    supervisor = LocalAgentSupervisor(tmp_path, command=lambda spec: ["sleep", "60"])
    await supervisor.start("dev", "unix:///x.sock")
    state_dir = supervisor.state_dir("dev")
    (state_dir / "agent.key").write_text("secret")
    await supervisor.remove("dev")
    assert not state_dir.exists()


async def test_a_restart_on_a_taken_port_moves_and_says_so(tmp_path: Path) -> None:
    moved: list[tuple[str, str]] = []

    async def on_moved(env: str, url: str) -> None:
        moved.append((env, url))

    supervisor = LocalAgentSupervisor(
        tmp_path, command=lambda spec: ["sleep", "0.3"], backoff_min=0.05
    )
    supervisor.on_moved = on_moved
    url = await supervisor.start("dev", "unix:///x.sock")
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        try:
            await _until("the move", lambda: bool(moved))
        finally:
            await supervisor.close()
    assert moved[0][0] == "dev"
    assert moved[0][1] != url


async def test_a_restart_keeps_the_port_when_it_is_free(tmp_path: Path) -> None:
    moved: list[str] = []

    async def on_moved(env: str, url: str) -> None:
        moved.append(url)

    supervisor = LocalAgentSupervisor(
        tmp_path, command=lambda spec: ["sleep", "0.1"], backoff_min=0.05
    )
    supervisor.on_moved = on_moved
    url = await supervisor.start("dev", "unix:///x.sock")
    try:
        await _until("two restarts", lambda: supervisor.restarts("dev") >= 2)
        assert supervisor.url("dev") == url
    finally:
        await supervisor.close()
    assert moved == []


def test_the_child_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the parent (no shutdown code runs at all) still ends the child."""
    parent = subprocess.Popen(  # a stand-in for the server
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "from fleetdeck.server.fleet.local import with_pdeathsig\n"
            "child = subprocess.Popen(with_pdeathsig(['sleep', '60']))\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 5
    while _comm(child) != "sleep" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _comm(child) == "sleep"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(child)


def test_the_wrapper_refuses_to_start_for_a_parent_that_is_gone() -> None:
    """A child whose server died before ``prctl`` took effect must not run unsupervised."""
    proc = subprocess.run(
        with_pdeathsig(["sh", "-c", "echo started"], parent_pid=os.getpid() + 10**6),
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    assert proc.returncode == 0
    assert proc.stdout == ""


def test_the_agent_command_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = LocalAgentSpec("dev", "unix:///var/run/docker.sock", Path("/data/local-agents/dev"), 41)
    argv = agent_command(spec)
    assert argv[:3] == [sys.executable, "-m", "fleetdeck.agent"]
    assert argv[argv.index("--listen") + 1] == "127.0.0.1:41"
    assert argv[argv.index("--docker-host") + 1] == "unix:///var/run/docker.sock"
    assert argv[argv.index("--state-dir") + 1] == "/data/local-agents/dev"
    assert spec.url == "https://127.0.0.1:41"
    monkeypatch.setenv("FLEETDECK_ADMIN_PASSWORD", "not-for-the-child")
    monkeypatch.setenv("DOCKER_HOST", "tcp://elsewhere:2375")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = child_environment()
    assert "FLEETDECK_ADMIN_PASSWORD" not in env
    assert "DOCKER_HOST" not in env
    assert env["LANG"] == "C.UTF-8"
