"""A real Git server for the lab: ``git http-backend`` behind nginx + fcgiwrap, basic auth.

It runs in the root namespace on the lab gateway's address (every node and the lab's
fleetdeck server reach it; nothing outside the machine does), serves the bare repositories
under ``ROOT/repos`` at ``http://ADDR:PORT/git/NAME.git`` to one user with a password
(nginx's ``{SSHA}`` scheme), and allows pushes from that user (``git http-backend`` turns
receive-pack on for an authenticated ``REMOTE_USER``). Tests and benchmarks use it as a
context manager; both processes are its children and are stopped by their pid.

Example:
    >>> with GitServer(tmp / "git", lab.gateway) as server:  # doctest: +SKIP
    ...     url = server.create("stacks")
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from fleetdeck.errors import ExternalCommandError, PrerequisiteMissingError

if TYPE_CHECKING:
    from types import TracebackType

NGINX = "/usr/sbin/nginx"
FCGIWRAP = "/usr/sbin/fcgiwrap"
HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
_CONF = """\
user root;
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
  {access_log}
  client_body_temp_path {root}/tmp/body;
  fastcgi_temp_path {root}/tmp/fastcgi;
  proxy_temp_path {root}/tmp/proxy;
  uwsgi_temp_path {root}/tmp/uwsgi;
  scgi_temp_path {root}/tmp/scgi;
  server {{
    listen {address}:{port};
    location ~ ^/git(/.*)$ {{
      auth_basic "fleetdeck lab git";
      auth_basic_user_file {root}/htpasswd;
      client_max_body_size 0;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME {backend};
      fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param GIT_PROJECT_ROOT {root}/repos;
      fastcgi_param PATH_INFO $1;
      fastcgi_param REMOTE_USER $remote_user;
      fastcgi_pass unix:{root}/fcgiwrap.sock;
    }}
  }}
}}
"""


def ssha(password: str) -> str:
    """An nginx ``{SSHA}`` password entry (salted SHA-1, RFC 2307)."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - nginx's scheme
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def free_port(address: str) -> int:
    """A TCP port free on ``address`` now."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group ``proc`` leads (it started it), SIGKILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.poll()


class GitServer:
    """nginx + fcgiwrap + ``git http-backend`` serving ``root/repos`` on ``address``.

    Args:
        root: A directory of its own (config, socket, logs, repositories).
        address: Where it listens (the lab gateway).
        port: Its port (default: a free one).
        username: The one user; ``password`` is made when not given.
    """

    def __init__(
        self, root: Path, address: str, port: int | None = None, username: str = "deploy",
        password: str | None = None, access_log: bool = False,
    ) -> None:  # fmt: skip
        for binary in (NGINX, FCGIWRAP, HTTP_BACKEND):
            if not Path(binary).exists():
                raise PrerequisiteMissingError(
                    f"{binary} is missing", hint="apt-get install nginx fcgiwrap git"
                )
        self.root, self.address = root, address
        self.port = port or free_port(address)
        self.username = username
        self.password = password or secrets.token_urlsafe(16)
        #: With ``access_log``, nginx writes ``$msec $status $request`` lines there
        #: (benchmarks count the requests a sync sends).
        self.access_log = root / "access.log" if access_log else None
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def base_url(self) -> str:
        """``http://ADDR:PORT/git`` (no credentials)."""
        return f"http://{self.address}:{self.port}/git"

    def url(self, name: str) -> str:
        """The URL of repository ``name``."""
        return f"{self.base_url}/{name}.git"

    def bare(self, name: str) -> Path:
        """The bare repository's directory (tests may push to it directly too)."""
        return self.root / "repos" / f"{name}.git"

    def create(self, name: str, branch: str = "main") -> str:
        """Make an empty bare repository; its URL."""
        path = self.bare(name)
        subprocess.run(["git", "init", "-q", "--bare", f"--initial-branch={branch}", str(path)],
                       check=True, capture_output=True)  # fmt: skip
        return self.url(name)

    def start(self) -> None:
        """Write the config, start fcgiwrap and nginx, wait until it answers."""
        for sub in ("repos", "tmp/body", "tmp/fastcgi", "tmp/proxy", "tmp/uwsgi", "tmp/scgi"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "htpasswd").write_text(f"{self.username}:{ssha(self.password)}\n")
        conf = self.root / "nginx.conf"
        access = (
            f"log_format counted '$msec $status $request'; access_log {self.access_log} counted;"
            if self.access_log is not None
            else "access_log off;"
        )
        conf.write_text(_CONF.format(root=self.root, address=self.address, port=self.port,
                                     backend=HTTP_BACKEND, access_log=access))  # fmt: skip
        sock = self.root / "fcgiwrap.sock"
        sock.unlink(missing_ok=True)
        log = (self.root / "server.log").open("ab")
        nginx = [
            NGINX,
            "-c",
            str(conf),
            "-p",
            str(self.root),
            "-e",
            str(self.root / "nginx-error.log"),
        ]
        for argv in ([FCGIWRAP, "-c", "4", "-s", f"unix:{sock}"], nginx):
            # A session of its own: fcgiwrap's workers (-c 4) go with it when it is stopped.
            proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                    start_new_session=True)  # fmt: skip
            self._procs.append(proc)
        log.close()
        self._wait()

    def _wait(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self._procs):
                break
            try:
                httpx.get(f"{self.base_url}/", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        tail = self.root / "nginx-error.log"
        text = tail.read_text()[-300:] if tail.exists() else ""
        raise ExternalCommandError(f"the lab Git server did not start: {text}")

    def stop(self) -> None:
        """Stop nginx and fcgiwrap with their workers (their own process groups only)."""
        for proc in reversed(self._procs):
            _stop_group(proc)
        self._procs.clear()

    def __enter__(self) -> GitServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


SSHD = "/usr/sbin/sshd"
_SSHD_CONF = """\
Port {port}
ListenAddress {address}
HostKey {root}/host_key
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
"""


class GitSSHServer:
    """sshd serving bare repositories through ``git-shell`` to one deploy key.

    The key pair is made here (:attr:`deploy_key` is the private key's text, for
    ``fleetdeck repos add --ssh-key``); the one authorized key may only run ``git-shell``
    (no pty, no forwarding). Repositories are reached by absolute path:
    ``ssh://USER@ADDR:PORT/ROOT/repos/NAME.git``, where USER is the one running sshd.

    Args:
        root: A directory of its own (keys, config, repositories).
        address: Where it listens (the lab gateway).
        port: Its port (default: a free one).
    """

    def __init__(self, root: Path, address: str, port: int | None = None) -> None:
        if not Path(SSHD).exists():
            raise PrerequisiteMissingError(
                f"{SSHD} is missing", hint="apt-get install openssh-server"
            )
        self.root, self.address = root, address
        self.port = port or free_port(address)
        self.user = os.environ.get("USER") or "root"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def deploy_key(self) -> str:
        """The deploy key's private half (OpenSSH format)."""
        return (self.root / "deploy_key").read_text()

    def url(self, name: str) -> str:
        """The URL of repository ``name``."""
        return f"ssh://{self.user}@{self.address}:{self.port}{self.bare(name)}"

    def bare(self, name: str) -> Path:
        """The bare repository's directory."""
        return self.root / "repos" / f"{name}.git"

    def create(self, name: str, branch: str = "main") -> str:
        """Make an empty bare repository; its URL."""
        subprocess.run(["git", "init", "-q", "--bare", f"--initial-branch={branch}",
                        str(self.bare(name))], check=True, capture_output=True)  # fmt: skip
        return self.url(name)

    def start(self) -> None:
        """Make the keys and config, start sshd, wait until it accepts connections."""
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        for key in ("host_key", "deploy_key"):
            if not (self.root / key).exists():
                argv = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key,
                        "-f", str(self.root / key)]  # fmt: skip
                subprocess.run(argv, check=True, capture_output=True)
        public = (self.root / "deploy_key.pub").read_text().strip()
        limits = "no-port-forwarding,no-pty,no-agent-forwarding,no-X11-forwarding"
        forced = 'command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\""'
        (self.root / "authorized_keys").write_text(f"{forced},{limits} {public}\n")
        conf = self.root / "sshd_config"
        conf.write_text(_SSHD_CONF.format(root=self.root, address=self.address, port=self.port))
        log = (self.root / "sshd.log").open("ab")
        self._proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(conf)], stdout=log,
                                      stderr=log, stdin=subprocess.DEVNULL,
                                      start_new_session=True)  # fmt: skip
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self._proc.poll() is None:
            try:
                with socket.create_connection((self.address, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ExternalCommandError(
            f"the lab SSH Git server did not start: {(self.root / 'sshd.log').read_text()[-300:]}"
        )

    def stop(self) -> None:
        """Stop sshd and its sessions (its own process group only)."""
        if self._proc is not None:
            _stop_group(self._proc)
        self._proc = None

    def __enter__(self) -> GitSSHServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
