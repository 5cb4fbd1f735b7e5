"""One real dockerd per lab node, inside the node's network namespace and own UTS namespace.

Each engine has its own data root, exec root, pidfile, socket, cgroup parent and config file
(so a host's /etc/docker/daemon.json cannot leak into a lab). It is started with
``nsenter --net`` rather than ``ip netns exec``: the latter remounts /sys and hides the cgroup
mounts from dockerd.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from fleetdeck.errors import ExternalCommandError, NodeUnreachableError
from fleetdeck.lab.system import log_tail, spawn_daemon

if TYPE_CHECKING:
    from fleetdeck.lab.state import NodeRecord

#: How long a fresh dockerd may take to answer its socket.
ENGINE_START_TIMEOUT_S = 60.0
#: How long dockerd may take to stop its containers and exit on SIGTERM.
ENGINE_STOP_TIMEOUT_S = 20.0


def docker_api(socket_path: str, path: str, timeout: float = 5.0) -> Any:
    """GET a Docker Engine API path over the engine's unix socket and return the JSON body."""
    transport = httpx.HTTPTransport(uds=socket_path)
    with httpx.Client(transport=transport, timeout=timeout) as client:
        response = client.get(f"http://docker{path}")
        response.raise_for_status()
        return response.json() if path != "/_ping" else response.text


def socket_path(node: NodeRecord) -> str:
    """The filesystem path of the node engine's socket."""
    return node.docker_host.removeprefix("unix://")


def engine_pid(node: NodeRecord) -> int | None:
    """The pid of the node's dockerd if it is alive, else None."""
    try:
        pid = int(Path(node.pidfile).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"dockerd" in cmdline and node.data_root.encode() in cmdline else None


def engine_state(node: NodeRecord) -> str:
    """``running`` (answers its socket), ``unresponsive`` (alive, silent) or ``stopped``."""
    if engine_pid(node) is None:
        return "stopped"
    try:
        docker_api(socket_path(node), "/_ping", timeout=2.0)
    except (httpx.HTTPError, OSError):
        return "unresponsive"
    return "running"


def config_path(node: NodeRecord) -> Path:
    """The node engine's own config file (never the host's /etc/docker/daemon.json)."""
    return Path(node.data_root).parent / "daemon.json"


def engine_config(node: NodeRecord) -> dict[str, Any]:
    """What the node's daemon.json holds: its own trust key file.

    dockerd 20.10 derives its engine ID (``docker info`` ``.ID``) from its trust key,
    ``/etc/docker/key.json`` by default; shared by every lab node, that key made all engines
    report one ID. A key per node (made by dockerd on first start) keeps them distinct, as on
    real hosts, where tools tell engines apart by that ID.
    """
    return {"deprecated-key-path": str(Path(node.data_root).parent / "key.json")}


def dockerd_argv(node: NodeRecord, registry: str) -> list[str]:
    """The full command that runs the node's dockerd in its namespaces."""
    config = config_path(node)
    return [
        "nsenter",
        f"--net=/run/netns/{node.netns}",
        "--",
        "unshare",
        "--uts",
        "--",
        "sh",
        "-c",
        'hostname "$1" && shift && exec "$@"',
        "sh",
        node.hostname,
        "dockerd",
        "--config-file",
        str(config),
        "--data-root",
        node.data_root,
        "--exec-root",
        node.exec_root,
        "--pidfile",
        node.pidfile,
        "--host",
        node.docker_host,
        "--cgroup-parent",
        f"/{node.cgroup_parent}",
        "--insecure-registry",
        registry,
        "--shutdown-timeout",
        "3",
        "--log-level",
        "warn",
    ]


def start_engine(node: NodeRecord, registry: str) -> None:
    """Launch the node's dockerd in the background (see :func:`wait_engine_ready`)."""
    if engine_pid(node) is not None:
        return
    Path(node.data_root).mkdir(parents=True, exist_ok=True)
    Path(node.exec_root).mkdir(parents=True, exist_ok=True)
    config_path(node).write_text(json.dumps(engine_config(node), indent=2) + "\n")
    spawn_daemon(dockerd_argv(node, registry), node.log_file)


def wait_engine_ready(node: NodeRecord, timeout: float = ENGINE_START_TIMEOUT_S) -> None:
    """Block until the node's engine answers /_ping, or raise with its last log line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine_state(node) == "running":
            return
        time.sleep(0.2)
    tail = log_tail(node.log_file)
    raise ExternalCommandError(
        f"dockerd on node {node.name} did not become ready within {timeout:.0f} s",
        hint=f"last log line: {tail[0]}" if tail else f"see {node.log_file}",
    )


def stop_engine(node: NodeRecord, timeout: float = ENGINE_STOP_TIMEOUT_S) -> bool:
    """Stop the node's dockerd (SIGTERM, then SIGKILL); return whether one was running."""
    pid = engine_pid(node)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


def require_engine(node: NodeRecord) -> None:
    """Raise :class:`NodeUnreachableError` unless the node's engine answers."""
    state = engine_state(node)
    if state != "running":
        raise NodeUnreachableError(
            f"the engine of node {node.name} is {state}",
            hint=f"start it with: fleetdeck lab start {node.name}",
        )
