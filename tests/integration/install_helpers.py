"""A lab for the agent install from the server: one node, a server, no agent yet.

Shared by tests/integration/test_agent_install.py and bench/install_bench.py. The server
serves a wheelhouse made from this checkout (``scripts/wheelhouse``, put in place with
``fleetdeck server agent-dist``), and the node runs a systemd "host" container
(:class:`fleetdeck.lab.systemd_host.SystemdHost`) in its network namespace, where the
printed install line is run.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetdeck.client.client import FleetdeckClient
from fleetdeck.client.config import ClientConfig
from fleetdeck.lab import Lab, LabRecord
from fleetdeck.lab.fleet_server import start_server

if TYPE_CHECKING:
    from fleetdeck.lab.state import ServerRecord

ROOT = Path(__file__).resolve().parents[2]
#: What the install leaves on a host; none of it may exist after a failure or an uninstall.
INSTALLED_PATHS = (
    "/opt/fleetdeck-agent",
    "/etc/systemd/system/fleetdeck-agent.service",
    "/etc/fleetdeck",
    "/var/lib/fleetdeck",
)


@dataclass
class InstallLab:
    """The lab, its server and the CLI environment pointing at it."""

    lab: Lab
    record: LabRecord
    server: ServerRecord

    @property
    def cli_env(self) -> dict[str, str]:
        """FLEETDECK_* variables for the CLI (admin token)."""
        return {
            "FLEETDECK_URL": self.server.url,
            "FLEETDECK_TOKEN": self.server.token,
            "FLEETDECK_CA_CERT": self.server.ca_cert,
        }

    def client(self) -> FleetdeckClient:
        """A typed client of the server (admin token)."""
        config = ClientConfig(
            url=self.server.url, ca_cert=self.server.ca_cert, token=self.server.token
        )
        return FleetdeckClient(config)


def wheelhouse(out: Path) -> Path:
    """``scripts/wheelhouse OUT agent`` from this checkout."""
    subprocess.run(
        [str(ROOT / "scripts" / "wheelhouse"), str(out), "agent"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def fleetdeck_cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess (not checked)."""
    import os

    return subprocess.run(
        [sys.executable, "-m", "fleetdeck", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def up_install_lab(name: str, house: Path) -> InstallLab:
    """One node and a server without agents, serving ``house`` at /install/."""
    lab = Lab(name)
    record, _ = lab.up(nodes=1)
    try:
        server = start_server(lab.names, record.gateway)
        dist = fleetdeck_cli(
            "server", "agent-dist", "--data-dir", server.data_dir, "--from", str(house)
        )
        if dist.returncode != 0:
            raise AssertionError(f"agent-dist failed: {dist.stderr}")
    except BaseException:
        lab.down()
        raise
    return InstallLab(lab, record, server)


def new_environment(lab: InstallLab, name: str) -> dict[str, Any]:
    """``fleetdeck env add NAME -o json``: the token and every line."""
    import json

    proc = fleetdeck_cli("env", "add", name, "-o", "json", env=lab.cli_env)
    assert proc.returncode == 0, proc.stderr
    answer: dict[str, Any] = json.loads(proc.stdout)
    return answer
