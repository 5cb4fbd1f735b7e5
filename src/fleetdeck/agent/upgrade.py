"""``POST /v1/upgrade``: this agent moves itself to the server's agent build, or stays.

The agent cannot replace itself in place, so it hands the work to something that outlives it
and decides, on its own clock, whether the new agent came back (the server may be gone by
then: an interrupted upgrade must leave a working agent, old or new, never none):

* **service** (installed by ``/install/agent.sh``, run by systemd): the script's own copy,
  ``/opt/fleetdeck-agent/agent.sh``, is started in a transient systemd unit (``systemd-run``,
  outside this service's cgroup, so restarting the agent does not kill it). It fetches the
  server's wheelhouse, installs it as a new release next to the old one, restarts the
  service into it and waits ``timeout`` seconds for the agent's port; if it does not open,
  the old release is linked back and started.
* **container** (``docker run … fleetdeck/agent``): a one-shot helper container of this
  agent's own image (:mod:`fleetdeck.agent.swap`) loads the server's image tarball, keeps the
  old container (stopped, renamed ``NAME.fd-previous``), starts the new one under the old
  name and waits for it; if it does not come up, the new one is removed and the old one
  renamed back and started.

An agent run any other way (by hand, by another supervisor) is refused with a clear error:
it is upgraded the way it was installed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import ConflictError, InvalidInputError

if TYPE_CHECKING:
    from fleetdeck.agent.engine import Engine
    from fleetdeck.wire.agent import UpgradeBody

#: Where the install script puts the agent (its copy of itself included).
SCRIPT_PREFIX = Path("/opt/fleetdeck-agent")
SCRIPT_COPY = SCRIPT_PREFIX / "agent.sh"
#: The transient unit the script runs in during an upgrade.
UPGRADE_UNIT = "fleetdeck-agent-upgrade"
_CONTAINER_ID = re.compile(r"/containers/([0-9a-f]{64})/")
_CGROUP_ID = re.compile(r"[/-]([0-9a-f]{64})(?:\.scope)?$")


def own_container_id(mountinfo: str, cgroup: str) -> str | None:
    """This process's container id, from its mount table (or cgroup), None outside one.

    Docker bind-mounts ``/etc/hostname`` (and resolv.conf, hosts) from
    ``DATA_ROOT/containers/ID/``: that holds with any cgroup version and network mode.
    """
    found = _CONTAINER_ID.search(mountinfo)
    if found:
        return found.group(1)
    for line in cgroup.splitlines():
        match = _CGROUP_ID.search(line.strip())
        if match:
            return match.group(1)
    return None


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read(1024 * 1024)
    except OSError:
        return ""


def installed_by_script() -> bool:
    """Whether systemd runs this agent from the install script's releases."""
    return (
        "INVOCATION_ID" in os.environ
        and SCRIPT_COPY.is_file()
        and Path(sys.prefix).resolve().is_relative_to(SCRIPT_PREFIX.resolve())
    )


async def _start_service_upgrade(body: UpgradeBody) -> dict[str, Any]:
    systemd_run = shutil.which("systemd-run")
    if systemd_run is None:
        raise ConflictError("systemd-run is missing on this host: cannot upgrade the agent")
    argv = [
        systemd_run, f"--unit={UPGRADE_UNIT}", "--collect", "--quiet",
        "/bin/sh", str(SCRIPT_COPY), "--timeout", str(body.timeout_seconds),
    ]  # fmt: skip
    if body.server:
        argv += ["--server", body.server]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        text = err.decode(errors="replace").strip().splitlines()
        why = text[-1] if text else f"exit status {proc.returncode}"
        if "already" in why or "exists" in why:
            raise ConflictError("an upgrade of this agent is running already", hint=why)
        raise ConflictError(f"could not start the upgrade: {why}")
    return {"mode": "service", "runner": UPGRADE_UNIT}


async def start_upgrade(engine: Engine, body: UpgradeBody) -> dict[str, Any]:
    """Start moving this agent to the server's build; answer how (``mode``) at once.

    Raises:
        ConflictError: The agent was not installed in a way it can upgrade itself, or an
            upgrade is running already.
    """
    if installed_by_script():
        return await _start_service_upgrade(body)
    container = own_container_id(_read("/proc/self/mountinfo"), _read("/proc/self/cgroup"))
    if container is not None:
        from fleetdeck.agent.swap import start_helper

        return await start_helper(engine, container, body)
    raise ConflictError(
        "this agent was neither installed by the install script nor run as a container: "
        "it cannot upgrade itself",
        hint="upgrade it the way it was installed (e.g. pip install the new wheel, restart it)",
    )


def check_server_url(url: str | None) -> None:
    """An upgrade fetches from an https:// server only."""
    if url is not None and not url.startswith("https://"):
        raise InvalidInputError(f"server must be an https:// URL, not {url!r}")
