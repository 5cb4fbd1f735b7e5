"""``fleetdeck exec -i/-t`` on a real lab: stdin, its end, stderr apart, a TTY and its size.

Issue #12 (bug 9): ``echo 'echo hi' | fleetdeck exec node2/web1 -- sh`` printed nothing and
exited 0: stdin was never read. These drive the real CLI against the ``fleet3`` lab's server
and a container on one of its engines, under a pipe and under a pseudo-terminal.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time
from typing import TYPE_CHECKING

import pytest

from fleetdeck.lab import Lab
from tests.conftest import client_for, fleetdeck, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for
from tests.integration.test_fleet_containers import _run_web

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def web(fleet3: LabRecord) -> Iterator[str]:
    """A running web container on node2, as ``ENV/NAME``."""
    name = _run_web(fleet3, 1, prefix="exec")
    ref = f"{fleet3.nodes[1].name}/{name}"
    try:
        with client_for(fleet3) as client:
            wait_for("the container", lambda: client.list_containers(name=name).total == 1)
        yield ref
    finally:
        docker(fleet3.nodes[1], "rm", "-f", name)


def test_piped_stdin_runs_and_the_exit_code_and_stderr_come_back(
    fleet3: LabRecord, web: str
) -> None:
    script = "echo hi; echo oops >&2; exit 3\n"
    proc = fleetdeck("exec", "-i", web, "--", "sh", env=server_env(fleet3), stdin=script,
                     check=False)  # fmt: skip
    assert proc.returncode == 3, proc
    assert proc.stdout == "hi\n"
    assert proc.stderr == "oops\n"


def test_the_end_of_stdin_reaches_the_command(fleet3: LabRecord, web: str) -> None:
    """``wc`` only answers once it has read end of file; 300 kB crosses many frames."""
    data = "x" * 299_999 + "\n"
    proc = fleetdeck("exec", "-i", web, "--", "wc", "-c", env=server_env(fleet3), stdin=data)
    assert proc.stdout.strip() == "300000"


def test_without_i_stdin_is_not_read_and_the_json_output_stays(fleet3: LabRecord, web: str) -> None:
    env = server_env(fleet3)
    proc = fleetdeck("exec", web, "--", "cat", env=env, stdin="not for cat\n")
    assert proc.stdout == ""
    as_json = fleetdeck("exec", web, "-o", "json", "--", "sh", "-c", "echo j; exit 4",
                        env=env, check=False)  # fmt: skip
    assert as_json.returncode == 4
    assert '"exit_code": 4' in as_json.stdout and '"output": "j\\n"' in as_json.stdout


def test_tty_with_a_piped_stdin_is_refused_as_docker_does(fleet3: LabRecord, web: str) -> None:
    proc = fleetdeck("exec", "-it", web, "--", "sh", env=server_env(fleet3), stdin="tty\n",
                     check=False)  # fmt: skip
    assert proc.returncode == 2
    assert "the input device is not a TTY" in proc.stderr


class _Terminal:
    """The CLI running under a pseudo-terminal whose master end the test holds."""

    def __init__(self, args: list[str], env: dict[str, str], rows: int, cols: int) -> None:
        self.master, slave = pty.openpty()
        termios.tcsetwinsize(slave, (rows, cols))
        self.before = termios.tcgetattr(slave)
        self.slave = slave
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleetdeck", *args],
            stdin=slave, stdout=slave, stderr=slave, env={**os.environ, **env},
            start_new_session=True,
        )  # fmt: skip
        self.seen = b""

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def expect(self, pattern: str, timeout: float = 60) -> re.Match[bytes]:
        """Read until ``pattern`` shows in the output since the last match."""
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern.encode(), self.seen)) is None:
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} in {self.seen[-2000:]!r}"
            ready, _, _ = select.select([self.master], [], [], min(left, 1))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the CLI exited and closed the terminal
                    assert self.proc.poll() is not None
                    continue
                # BusyBox's line editor asks where the cursor is; answer as a terminal would.
                for _ in range(chunk.count(b"\x1b[6n")):
                    self.send("\x1b[1;1R")
                self.seen += chunk
        self.seen = self.seen[found.end() :]
        return found

    def resize(self, rows: int, cols: int) -> None:
        termios.tcsetwinsize(self.master, (rows, cols))
        os.kill(self.proc.pid, signal.SIGWINCH)  # not its controlling terminal: tell it

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        os.close(self.master)
        os.close(self.slave)


def test_it_gives_a_shell_a_terminal_that_follows_the_window_size(
    fleet3: LabRecord, web: str
) -> None:
    term = _Terminal(["exec", "-it", web, "--", "sh"], server_env(fleet3), rows=30, cols=100)
    try:
        term.expect(r"# ")  # the prompt: the CLI is attached, its terminal raw
        term.send("tty; stty size\r")
        assert term.expect(r"/dev/pts/\d+")
        assert term.expect(r"30 100")
        term.resize(40, 120)

        def size() -> bytes | None:
            term.send("stty size\r")
            shown = term.expect(r"\d+ \d+")[0]
            return shown if shown == b"40 120" else None

        # The resize travels beside the keystrokes: ask until the shell's terminal has it.
        wait_for("the new size", size)
        term.send("exit 5\r")
        assert term.proc.wait(timeout=60) == 5
        # Raw mode was only for the session: the terminal's settings are as they were.
        assert termios.tcgetattr(term.slave) == term.before
    finally:
        term.close()


def test_a_session_whose_node_is_cut_off_ends_as_unreachable(fleet3: LabRecord, web: str) -> None:
    """The link is lost mid-session (no reset comes): the CLI says so and exits 6, no hang."""
    node = fleet3.nodes[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleetdeck", "exec", "-i", web, "--", "sh"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **server_env(fleet3)},
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    lab = Lab(fleet3.name)
    try:
        proc.stdin.write("echo attached\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "attached\n"
        lab.partition(node.name)
        code = proc.wait(timeout=60)  # the console's pings give up after 15 s
    finally:
        lab.heal(node.name)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    error = proc.stderr.read()
    proc.stdin.close()
    proc.stdout.close()
    proc.stderr.close()
    assert code == 6, error
    assert f"lost the link to the agent of {node.name}/" in error
    with client_for(fleet3) as client:
        wait_for("the node up again", lambda: client.get_environment(node.name).status == "up")
