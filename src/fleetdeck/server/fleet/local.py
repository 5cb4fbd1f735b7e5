"""``local`` environments: the server runs and supervises one agent child process per engine.

A local environment is the engine on the server's own host, reached through its unix socket.
Rather than a second code path for inventory and operations, the server starts a standard
agent as a child process, listening on ``127.0.0.1`` on a free port, with credentials the
server issues straight from its CA (no join token), and then links to it like to any agent.

The child's life is tied to the server's:

* on graceful shutdown and when its environment is removed, :class:`LocalAgentSupervisor`
  sends SIGTERM, then SIGKILL after a grace period;
* if the server dies without shutting down (SIGKILL, OOM kill), the kernel kills the child:
  it is started through a tiny wrapper (:data:`PDEATHSIG_WRAPPER`) that asks for
  ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` and then execs the agent. Doing this in the
  child itself, rather than in a ``preexec_fn``, keeps ``fork`` safe in a threaded server.
  The kernel sends that signal when the *thread* that forked the child ends, so children are
  only ever started from the event loop's thread (``asyncio.create_subprocess_exec`` forks
  there), which lives as long as the server.

Linux only (``prctl``), like the rest of the server's engine access.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fleetdeck.server.loops import BackgroundLoop, Backoff

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from fleetdeck.server.loops import LoopRegistry


log = logging.getLogger("fleetdeck.server.local")

#: Runs in the child before the agent: die with the parent, then become the agent.
#: ``argv[1]`` is the server's pid: if the server died before ``prctl`` took effect the child
#: has been re-parented already and must not start at all.
PDEATHSIG_WRAPPER = (
    "import ctypes, os, signal, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:\n"  # 1 = PR_SET_PDEATHSIG
    "    sys.exit('prctl(PR_SET_PDEATHSIG) failed: errno %d' % ctypes.get_errno())\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(0)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)
LISTEN_HOST = "127.0.0.1"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
#: A child that ran this long was healthy: the next restart starts from the shortest backoff.
HEALTHY_AFTER_S = 30.0
STOP_GRACE_S = 5.0
#: The child's log is moved aside (one old copy kept) when it grew past this at a (re)start.
LOG_ROTATE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class LocalAgentSpec:
    """What one local agent child is started with."""

    environment: str
    docker_host: str
    state_dir: Path
    port: int

    @property
    def url(self) -> str:
        """Where the server reaches the child."""
        return f"https://{LISTEN_HOST}:{self.port}"


def with_pdeathsig(argv: list[str], parent_pid: int | None = None) -> list[str]:
    """``argv`` run through the wrapper that ties it to ``parent_pid`` (default: this process)."""
    pid = os.getpid() if parent_pid is None else parent_pid
    return [sys.executable, "-c", PDEATHSIG_WRAPPER, str(pid), *argv]


def agent_command(spec: LocalAgentSpec) -> list[str]:
    """The standard agent (its lean ``python -m fleetdeck.agent`` entry point) for ``spec``."""
    return [
        sys.executable, "-m", "fleetdeck.agent",
        "--listen", f"{LISTEN_HOST}:{spec.port}",
        "--docker-host", spec.docker_host,
        "--state-dir", str(spec.state_dir),
    ]  # fmt: skip


def child_environment() -> dict[str, str]:
    """The server's environment without its own settings and secrets, nor DOCKER_* overrides.

    The server may hold ``FLEETDECK_ADMIN_PASSWORD`` or a master key in its environment; the
    agent needs none of it, and its flags say everything it must know.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith(("FLEETDECK_", "DOCKER_"))}


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if it can be bound on the loopback address, else one the kernel picks."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the agent binds
            try:
                probe.bind((LISTEN_HOST, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError(f"no free port on {LISTEN_HOST}")


def _open_log(state_dir: Path) -> int:
    path = state_dir / "agent.log"
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > LOG_ROTATE_BYTES:
            path.replace(state_dir / "agent.log.1")
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


@dataclass
class _Child:
    spec: LocalAgentSpec
    process: asyncio.subprocess.Process
    loop: BackgroundLoop | None = None
    stopping: bool = False
    restarts: int = 0
    #: The most recent restart delays chosen, oldest first (what the backoff decided).
    delays: deque[float] = field(default_factory=lambda: deque(maxlen=16))


class LocalAgentSupervisor:
    """Runs one agent child per local environment, restarts it, and stops it.

    Args:
        root: ``DATA_DIR/local-agents``: each environment's state dir is ``root/<env>``.
        command: Builds the child's command line from its spec (tests pass a fake one); it
            is always run through :func:`with_pdeathsig`.
        backoff_min: First delay before restarting a child that exited.
        backoff_max: Longest delay (the delay doubles after each quick exit).
        healthy_after: A child that ran this long restarts after ``backoff_min`` again.
        stop_grace: Time between SIGTERM and SIGKILL when stopping a child.
        loops: Where each child's supervising loop (``local agent ENV``) is registered.
    """

    def __init__(
        self,
        root: Path,
        *,
        command: Callable[[LocalAgentSpec], list[str]] = agent_command,
        backoff_min: float = BACKOFF_MIN_S,
        backoff_max: float = BACKOFF_MAX_S,
        healthy_after: float = HEALTHY_AFTER_S,
        stop_grace: float = STOP_GRACE_S,
        loops: LoopRegistry | None = None,
    ) -> None:
        self.root = root
        self.command = command
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.healthy_after = healthy_after
        self.stop_grace = stop_grace
        self.loops = loops
        #: Told when a restarted child listens on another port (the link must follow).
        self.on_moved: Callable[[str, str], Awaitable[None]] | None = None
        self._children: dict[str, _Child] = {}

    def state_dir(self, environment: str) -> Path:
        """Where the child of ``environment`` keeps its credentials and log."""
        return self.root / environment

    def url(self, environment: str) -> str | None:
        """Where the child of ``environment`` listens, if it runs."""
        child = self._children.get(environment)
        return child.spec.url if child else None

    def pid(self, environment: str) -> int | None:
        """The child's process id (tests and operators look at /proc with it)."""
        child = self._children.get(environment)
        return child.process.pid if child and child.process.returncode is None else None

    def restarts(self, environment: str) -> int:
        """How many times the child of ``environment`` was restarted."""
        child = self._children.get(environment)
        return child.restarts if child else 0

    def restart_delays(self, environment: str) -> list[float]:
        """The delays chosen before the child's recent restarts, oldest first."""
        child = self._children.get(environment)
        return list(child.delays) if child else []

    async def start(self, environment: str, docker_host: str) -> str:
        """Start (if not running) the child of ``environment``; return its URL at once.

        The URL is known before the child listens; a link to it simply retries until it does.
        """
        if environment in self._children:
            return self._children[environment].spec.url
        state_dir = self.state_dir(environment)
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        spec = LocalAgentSpec(environment, docker_host, state_dir, free_port())
        child = _Child(spec, await self._spawn(spec))
        self._children[environment] = child
        # The loop restarts the supervisor itself should it fail (e.g. a failed on_moved).
        child.loop = BackgroundLoop(
            f"local agent {environment}", body=lambda: self._supervise(child),
            backoff=Backoff(self.backoff_min, self.backoff_max),
        )  # fmt: skip
        if self.loops is not None:
            self.loops.add(child.loop)
        child.loop.start()
        return spec.url

    async def _spawn(self, spec: LocalAgentSpec) -> asyncio.subprocess.Process:
        # Forked from the event loop's thread: PDEATHSIG follows the forking thread.
        log_fd = _open_log(spec.state_dir)
        try:
            process = await asyncio.create_subprocess_exec(
                *with_pdeathsig(self.command(spec)),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                env=child_environment(),
                cwd=spec.state_dir,
                # Its own session: a terminal's Ctrl-C reaches the server, which then stops
                # the child itself (and the supervisor does not race to restart it).
                start_new_session=True,
            )
        finally:
            os.close(log_fd)
        log.info("local agent %s started (pid %d, %s)", spec.environment, process.pid, spec.url)
        return process

    async def _supervise(self, child: _Child) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.backoff_min
        started = loop.time()
        while True:
            code = await child.process.wait()
            if child.stopping:
                return
            if loop.time() - started >= self.healthy_after:
                backoff = self.backoff_min
            log.warning(
                "local agent %s exited with %s; restarting in %.1fs",
                child.spec.environment,
                code,
                backoff,
            )
            child.delays.append(backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)
            if child.stopping:
                return
            started = loop.time()
            await self._restart(child)

    async def _restart(self, child: _Child) -> None:
        old = child.spec
        spec = LocalAgentSpec(old.environment, old.docker_host, old.state_dir, free_port(old.port))
        try:
            child.process = await self._spawn(spec)
        except OSError as exc:  # e.g. the interpreter vanished during an upgrade: retry later
            log.error("local agent %s could not be started: %s", spec.environment, exc)
            return
        child.spec, child.restarts = spec, child.restarts + 1
        if spec.port != old.port and self.on_moved is not None:
            log.warning("local agent %s moved to %s", spec.environment, spec.url)
            await self.on_moved(spec.environment, spec.url)

    async def stop(self, environment: str) -> None:
        """Stop the child of ``environment`` (SIGTERM, then SIGKILL) and stop supervising it."""
        child = self._children.pop(environment, None)
        if child is None:
            return
        child.stopping = True
        if child.loop is not None:
            await child.loop.stop()
            if self.loops is not None:
                self.loops.discard(child.loop)
        await self._terminate(child.process)
        log.info("local agent %s stopped", environment)

    async def _terminate(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)  # its session: anything it started goes too
            try:
                await asyncio.wait_for(process.wait(), self.stop_grace)
                return
            except TimeoutError:
                continue

    async def remove(self, environment: str) -> None:
        """Stop the child and delete its state dir (key, certificate, log)."""
        await self.stop(environment)
        await asyncio.to_thread(shutil.rmtree, self.state_dir(environment), ignore_errors=True)

    async def close(self) -> None:
        """Stop every child (server shutdown)."""
        await asyncio.gather(*(self.stop(env) for env in list(self._children)))
