"""The hardening report shown before every deploy: risky settings, per service.

Rules (names are stable; the server setting ``stacks_blocking_rules`` lists the ones that
stop a deploy instead of warning): ``privileged``, ``docker-socket``, ``host-network``,
``host-pid``, ``root-user``, ``no-memory-limit``, ``latest-tag``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.stacks.plan import Finding

if TYPE_CHECKING:
    from collections.abc import Collection

    from fleetdeck.compose import Project, Service

RULES = (
    "privileged",
    "docker-socket",
    "host-network",
    "host-pid",
    "root-user",
    "no-memory-limit",
    "latest-tag",
)
_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def _memory_limit(service: Service) -> bool:
    limits = (
        service.deploy.resources.limits if service.deploy and service.deploy.resources else None
    )
    return bool(service.mem_limit or (limits and limits.memory))


def _latest(image: str | None) -> bool:
    if not image or "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


def service_findings(name: str, service: Service) -> list[tuple[str, str]]:
    """``(rule, message)`` for one service."""
    found: list[tuple[str, str]] = []
    if service.privileged:
        found.append(("privileged", "runs privileged: full access to the host's devices"))
    for vol in service.volumes:
        if vol.type == "bind" and (vol.source or "").rstrip("/") in _SOCKETS:
            found.append(
                ("docker-socket", f"mounts the Docker socket at {vol.target}: root on the host")
            )
    if service.network_mode == "host":
        found.append(("host-network", "uses the host's network namespace"))
    if service.pid == "host":
        found.append(("host-pid", "uses the host's PID namespace"))
    user = (service.user or "").split(":")[0]
    if user in ("", "0", "root"):
        found.append(("root-user", "runs as root (no user set)" if not user else "runs as root"))
    if not _memory_limit(service):
        found.append(("no-memory-limit", "has no memory limit"))
    if _latest(service.image):
        found.append(("latest-tag", f"image {service.image} uses the moving 'latest' tag"))
    return found


def findings(project: Project, blocking: Collection[str]) -> list[Finding]:
    """Every finding of the project, blocking where the server's setting says so."""
    return [
        Finding(rule=rule, service=name, message=message, blocking=rule in blocking)
        for name, service in sorted(project.services.items())
        for rule, message in service_findings(name, service)
    ]
