"""A "host" with systemd as PID 1 on a lab node: where the agent's install script is tried.

The machine running the lab has no systemd as PID 1, and a lab node is only a network
namespace with a dockerd. A container of the node's engine, booting ``/sbin/init`` from a
debootstrap Debian rootfs (:mod:`fleetdeck.lab.debian_base`) with systemd, Python and curl,
sharing the node's network namespace (``--network host``: the node's lab address and no route
out of the lab) and given the node's engine socket as ``/var/run/docker.sock``, is as close to
a small Debian server running Docker as one machine allows.

It runs with every capability the machine has instead of ``--privileged`` (which asks for
capabilities this machine's bounding set lacks, e.g. ``CAP_SYS_RESOURCE``: "unable to apply
caps"), and with the cgroup v1 tree mounted writable so that systemd can make its own
cgroups; ``container=docker`` tells systemd where it runs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fleetdeck.errors import ExternalCommandError
from fleetdeck.lab.debian_base import import_base
from fleetdeck.lab.system import run

if TYPE_CHECKING:
    import subprocess

    from fleetdeck.lab.state import NodeRecord

#: What the host has: systemd, the Python the agent's venv needs, curl for the install line,
#: and the tools a test looks around with.
HOST_PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "python3",
    "python3-venv",
    "ca-certificates",
    "curl",
    "iproute2",
    "procps",
)
HOST_IMAGE = "fleetdeck-lab/systemd-host:bookworm"
BOOT_TIMEOUT_S = 60.0


def _capabilities() -> list[str]:
    """``--cap-add`` every capability this machine's bounding set holds."""
    with open("/proc/self/status") as status:
        mask = next(int(line.split()[1], 16) for line in status if line.startswith("CapBnd:"))
    names = (
        "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
        "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER "
        "SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE "
        "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
        "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ"
    ).split()
    return [f"--cap-add={name}" for bit, name in enumerate(names) if mask >> bit & 1]


class SystemdHost:
    """One systemd host container on a lab node's engine."""

    def __init__(self, node: NodeRecord, name: str) -> None:
        self.node = node
        self.name = name
        self.docker = ["docker", "--host", node.docker_host]

    def start(self, *, with_docker_socket: bool = True) -> SystemdHost:
        """Import the image (cached rootfs), boot the container, wait for systemd."""
        import_base(self.docker, HOST_IMAGE, HOST_PACKAGES)
        run([*self.docker, "rm", "-f", self.name], check=False)
        socket = self.node.docker_host.removeprefix("unix://")
        mounts = ["-v", f"{socket}:/var/run/docker.sock"] if with_docker_socket else []
        run(
            [
                *self.docker, "run", "-d", "--name", self.name,
                *_capabilities(),
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "-e", "container=docker", "--network", "host",
                "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",  # noqa: S108 - the container's own /tmp
                "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", *mounts,
                HOST_IMAGE, "/sbin/init",
            ],
            timeout=120,
        )  # fmt: skip
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        state = ""
        while time.monotonic() < deadline:
            state = self.exec("systemctl", "is-system-running").stdout.strip()
            if state in ("running", "degraded"):
                return self
            time.sleep(0.5)
        raise ExternalCommandError(f"systemd host {self.name} did not boot: {state or 'no answer'}")

    def exec(
        self, *argv: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the host (``docker exec``), not checked."""
        flags = [f"--env={k}={v}" for k, v in (env or {}).items()]
        return run([*self.docker, "exec", *flags, self.name, *argv], check=False, timeout=timeout)

    def bash(
        self, line: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a line as root's bash would (the install line uses process substitution)."""
        return self.exec("bash", "-c", line, env=env)

    def remove(self) -> None:
        """Remove the container (the lab's ``down`` would too)."""
        run([*self.docker, "rm", "-f", self.name], check=False, timeout=120)
