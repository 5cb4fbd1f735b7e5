"""Stopping and restarting a lab's fleetdeck server, as an operator would (same data dir).

Tests use it to kill the server under a deploy, or to run it for a while with other
settings (``FLEETDECK_*`` variables) and then put the normal server back.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.lab.system import spawn_daemon
from tests.conftest import client_for
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord


def server_pid(data_dir: str) -> int | None:
    """The pid of the server process that runs on ``data_dir``, if one does."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"server" in argv and data_dir.encode() in argv and b"fleetdeck" in argv:
            return int(entry.name)
    return None


def stop_server(record: LabRecord, sig: signal.Signals = signal.SIGTERM) -> None:
    """Send ``sig`` to the lab's server and wait until it is gone (SIGKILL after 60 s)."""
    assert record.server is not None
    data_dir = record.server.data_dir
    pid = server_pid(data_dir)
    if pid is None:
        return
    os.kill(pid, sig)
    try:
        wait_for("the server to stop", lambda: server_pid(data_dir) is None, timeout=60)
    except AssertionError:
        os.kill(pid, signal.SIGKILL)
        wait_for("the server to be gone", lambda: server_pid(data_dir) is None, timeout=30)


def start_server(record: LabRecord, settings: dict[str, str] | None = None) -> None:
    """Start the lab's server again on its data dir, with extra ``FLEETDECK_*`` settings.

    Returns once it answers and every environment's agent is back up.
    """
    assert record.server is not None
    data_dir = record.server.data_dir
    password_file = Path(data_dir) / "admin-password"  # a path: no password in /proc/PID/environ
    extra = [f"{key}={value}" for key, value in sorted((settings or {}).items())]
    spawn_daemon(
        ["env", f"FLEETDECK_ADMIN_PASSWORD_FILE={password_file}", *extra, sys.executable, "-m",
         "fleetdeck", "server", "--data-dir", data_dir, "--listen", f"{record.gateway}:8443"],
        str(Path(data_dir) / "server.log"),
    )  # fmt: skip

    def nodes_up() -> bool:
        try:
            with client_for(record) as client:
                return all(e.status == "up" for e in client.list_environments())
        except Exception:  # noqa: BLE001 - the server is still starting
            return False

    wait_for("the restarted server with every node up", nodes_up, timeout=120)


def restart_server(record: LabRecord, settings: dict[str, str] | None = None) -> None:
    """Stop the lab's server and start it again with ``settings`` (none: the normal server)."""
    stop_server(record)
    start_server(record, settings)
