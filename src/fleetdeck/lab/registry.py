"""The lab's private registry: Debian's ``docker-registry`` on the gateway address.

It runs in the root namespace and listens on the bridge's gateway address, so every node
reaches it over the lab bridge and nothing outside the machine does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from fleetdeck.errors import ExternalCommandError
from fleetdeck.lab.system import log_tail, spawn_daemon

if TYPE_CHECKING:
    from fleetdeck.lab.state import LabNames

REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
"""


def start_registry(names: LabNames, addr: str) -> None:
    """Start the registry listening on ``addr`` (HOST:PORT).

    It is found again by its command line (which names the lab's state dir), not a pidfile.
    """
    root = names.state_dir / "registry"
    root.mkdir(parents=True, exist_ok=True)
    config = names.state_dir / "registry.yml"
    config.write_text(REGISTRY_CONFIG.format(root=root / "data", addr=addr))
    spawn_daemon(["docker-registry", "serve", str(config)], str(names.state_dir / "registry.log"))


def registry_alive(addr: str, timeout: float = 2.0) -> bool:
    """Whether the registry at ``addr`` answers its API root."""
    try:
        return httpx.get(f"http://{addr}/v2/", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_registry_ready(names: LabNames, addr: str, timeout: float = 30.0) -> None:
    """Block until the registry answers, or raise with its last log line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if registry_alive(addr, timeout=1.0):
            return
        time.sleep(0.2)
    tail = log_tail(names.state_dir / "registry.log")
    raise ExternalCommandError(
        f"the lab registry at {addr} did not answer within {timeout:.0f} s",
        hint=tail[0] if tail else None,
    )
