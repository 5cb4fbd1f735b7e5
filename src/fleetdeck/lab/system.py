"""Running the system tools the lab is made of (ip, iptables, nsenter, dockerd, docker).

Every call goes through :func:`run` so that a failure becomes an
:class:`~fleetdeck.errors.ExternalCommandError` that names the command and quotes its stderr,
instead of a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.errors import ExternalCommandError, PrerequisiteMissingError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: System tools the lab needs, with the Debian package that provides each.
REQUIRED_TOOLS: Mapping[str, str] = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "iptables": "iptables",
    "dockerd": "docker.io",
    "docker": "docker.io",
    "docker-registry": "docker-registry",
    "busybox": "busybox-static",
    "wget": "wget",
    "ldd": "libc-bin",
}


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    input_bytes: bytes | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion and return its result with text output.

    Args:
        argv: The command and its arguments.
        check: Raise :class:`ExternalCommandError` when the command exits non-zero.
        env: Extra environment variables, added to the current environment.
        input_bytes: Data written to the command's standard input.
        timeout: Seconds before the command is killed and reported as failed.

    Returns:
        The completed process, stdout and stderr decoded as UTF-8.
    """
    full_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.run(
            list(argv),
            input=input_bytes,
            capture_output=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise PrerequisiteMissingError(f"command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ExternalCommandError(
            f"`{' '.join(argv)}` did not finish within {timeout:.0f} s"
        ) from exc
    result = subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise ExternalCommandError(
            f"`{' '.join(argv)}` failed (exit {result.returncode}): "
            + (detail[-1] if detail else "no output")
        )
    return result


def spawn_daemon(argv: Sequence[str], log_path: str) -> None:
    """Start a long-running process detached from this one (new session, parent is init).

    ``setsid -f`` forks and returns at once, so the daemon is never our child: it outlives
    the CLI, and a test process that starts a lab never collects zombies of it.
    """
    with open(log_path, "ab") as log:
        subprocess.run(
            ["setsid", "-f", *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            close_fds=True,
            check=True,
        )


def log_tail(path: str | Path, lines: int = 1) -> list[str]:
    """The last ``lines`` lines of a daemon's log (none if it is missing): error hints."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return []
    return text.strip().splitlines()[-lines:]


def require_root() -> None:
    """Stop with a clear error unless running as root (the lab creates namespaces)."""
    if os.geteuid() != 0:
        raise PrerequisiteMissingError(
            "the lab needs root: it creates network namespaces, a bridge and dockerd engines",
            hint="run it with sudo, or as root",
        )


def require_tools(tools: Sequence[str] | None = None) -> None:
    """Stop with a clear error naming every missing tool and the package that provides it."""
    wanted = tools if tools is not None else list(REQUIRED_TOOLS)
    missing = [tool for tool in wanted if shutil.which(tool) is None]
    if missing:
        packages = sorted({REQUIRED_TOOLS.get(tool, tool) for tool in missing})
        raise PrerequisiteMissingError(
            f"missing system tools: {', '.join(missing)}",
            hint=f"install them with: apt-get install -y {' '.join(packages)}",
        )
