"""A real SFTP server (OpenSSH's sshd) and a second fleetdeck server for the backup tests.

``SftpServer`` runs ``sshd`` on loopback with a throwaway host key and one authorized client
key: the backup target of the drill, reached by restic's sftp backend with a ``known_hosts``
made for the test. ``DrillServer`` is a fleetdeck server of the test's own (its data dir can
be destroyed without touching the session lab's server), managing the lab's nodes through
agents of its own on another port, enrolled with join tokens as an operator would.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.client.client import FleetdeckClient
from fleetdeck.client.config import ClientConfig
from fleetdeck.lab.fleet_server import AGENT_PORT, agent_argv
from fleetdeck.lab.system import spawn_daemon
from fleetdeck.pki import write_private
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

#: The drill's agents listen next to the lab's own (which use AGENT_PORT).
DRILL_AGENT_PORT = AGENT_PORT + 1


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pids_with(marker: str) -> list[int]:
    """Processes whose command line contains ``marker`` (a path unique to this test)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in argv:
            found.append(int(entry.name))
    return found


def kill_with(marker: str) -> None:
    """Stop the processes this test started whose command line holds ``marker``."""
    for pid in pids_with(marker):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    wait_for(f"processes of {marker} to stop", lambda: not pids_with(marker), timeout=30)


@dataclass
class SftpServer:
    """sshd on 127.0.0.1 (or ``address``) with one authorized key; ``root`` may use SFTP only.

    ``address``: the lab gateway, for a client in a container on a lab node (volume backups).
    """

    root: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    address: str = "127.0.0.1"

    @property
    def client_key(self) -> Path:
        """The client's private key."""
        return self.root / "client_key"

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file with the server's host key."""
        return self.root / "known_hosts"

    def url(self, path: Path) -> str:
        """The ``sftp://`` address of ``path`` on this server."""
        return f"sftp://root@{self.address}:{self.port}{path}"

    def start(self) -> SftpServer:
        """Make the keys and the config, start sshd, wait until it accepts connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        host_key, authorized = self.root / "host_key", self.root / "authorized_keys"
        for key in (host_key, self.client_key):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True
            )
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        self.port = free_port()
        public = host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[{self.address}]:{self.port} {public[0]} {public[1]}\n")
        config = self.root / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress {self.address}\nHostKey {host_key}\n"
            f"AuthorizedKeysFile {authorized}\nPidFile {self.root / 'sshd.pid'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "Subsystem sftp internal-sftp\nForceCommand internal-sftp\n"
            "AllowTcpForwarding no\nX11Forwarding no\n"
        )
        with (self.root / "sshd.log").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

        def accepts() -> bool:
            try:
                with socket.create_connection((self.address, self.port), timeout=1):
                    return True
            except OSError:
                return False

        wait_for("sshd to listen", accepts, timeout=20)
        return self

    def stop(self) -> None:
        """Stop sshd (our child)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)


@dataclass
class DrillServer:
    """A fleetdeck server of the test's own on the lab gateway, with agents on every node."""

    lab: LabRecord
    data_dir: Path
    port: int
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    token: str = ""

    @property
    def url(self) -> str:
        """Its address."""
        return f"https://{self.lab.gateway}:{self.port}"

    @property
    def ca_cert(self) -> str:
        """Its CA certificate file."""
        return str(self.data_dir / "ca" / "ca.pem")

    def client(self, token: str | None = None) -> FleetdeckClient:
        """A client with the admin token (or ``token``)."""
        return FleetdeckClient(
            ClientConfig(url=self.url, ca_cert=self.ca_cert, token=token or self.token or None)
        )

    def cli_env(self) -> dict[str, str]:
        """FLEETDECK_* for the CLI against this server."""
        return {"FLEETDECK_URL": self.url, "FLEETDECK_TOKEN": self.token,
                "FLEETDECK_CA_CERT": self.ca_cert}  # fmt: skip

    def start(self) -> None:
        """Start the server process on its data dir and wait until it answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password_file = self.data_dir.parent / f"{self.data_dir.name}.admin-password"
        write_private(password_file, self.password.encode())
        spawn_daemon(
            ["env", f"FLEETDECK_ADMIN_PASSWORD_FILE={password_file}", sys.executable, "-m",
             "fleetdeck", "server", "--data-dir", str(self.data_dir),
             "--listen", f"{self.lab.gateway}:{self.port}"],
            str(self.data_dir.parent / f"{self.data_dir.name}.log"),
        )  # fmt: skip

        def answers() -> bool:
            if not Path(self.ca_cert).is_file():
                return False
            try:
                with self.client() as anon:
                    anon.health()
                    return True
            except Exception:  # noqa: BLE001 - still starting
                return False

        wait_for("the drill server to answer", answers, timeout=90)

    def log_in(self) -> None:
        """Make the admin API token the test uses."""
        with self.client() as anon:
            session = anon.login("admin", self.password)
        with self.client(session.token) as client:
            self.token = client.create_token("drill").token

    def enrol_nodes(self, names: list[str]) -> None:
        """An environment per lab node, each node enrolled by an agent of this server's."""
        with self.client() as client:
            for node, name in zip(self.lab.nodes, names, strict=False):
                join = client.create_environment(name, tags=["drill"]).join_token
                state = self.data_dir.parent / f"agent-{node.name}"
                state.mkdir(exist_ok=True)
                argv = agent_argv(node, self.url, join, state)
                argv[argv.index(f"{node.ip}:{AGENT_PORT}")] = f"{node.ip}:{DRILL_AGENT_PORT}"
                spawn_daemon(argv, str(state / "agent.log"))
            self.wait_nodes_up(names)

    def wait_nodes_up(self, names: list[str]) -> None:
        """Block until every environment in ``names`` has its node up."""

        def up() -> bool:
            try:
                with self.client() as client:
                    envs = {e.name: e for e in client.list_environments()}
            except Exception:  # noqa: BLE001 - the server may still be starting
                return False
            return all(
                n in envs and any(node.status == "up" for node in envs[n].nodes) for n in names
            )

        wait_for("every drill node up", up, timeout=120)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the server process (the agents keep running)."""
        marker = f"--data-dir\0{self.data_dir}\0"
        for pid in pids_with(marker):
            os.kill(pid, sig)
        wait_for("the drill server to stop", lambda: not pids_with(marker), timeout=60)
