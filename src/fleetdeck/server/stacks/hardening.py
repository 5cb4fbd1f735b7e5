"""The hardening report shown before every deploy: risky settings, per service.

Rules (names are stable; the server setting ``stacks_blocking_rules`` lists the ones that
stop a deploy instead of warning, for everyone): ``privileged``, ``docker-socket``,
``host-network``, ``host-pid``, ``root-user``, ``no-memory-limit``, ``latest-tag``,
``host-ipc``, ``host-userns``, ``host-mount``, ``capability``, ``unconfined``, ``device``.

The :data:`DANGEROUS` ones give a container root on its node (or its kernel): they block a
deploy by a non-admin unless an admin allowed the rule for that stack or its environment
(:mod:`fleetdeck.server.stacks.allowances`); an admin's own deploy is not blocked by them.

``root-user`` looks at the service's ``user:`` and, when the file sets none, at the image's own
``USER`` as the node reports it (most images set one). An image the node does not have yet
cannot be inspected without pulling it: that is said as such, as a warning that never blocks,
rather than reported as root.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from fleetdeck.server.stacks.plan import Finding

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from fleetdeck.compose import Project, Service

RULES = (
    "privileged",
    "docker-socket",
    "host-network",
    "host-pid",
    "root-user",
    "no-memory-limit",
    "latest-tag",
    "host-ipc",
    "host-userns",
    "host-mount",
    "capability",
    "unconfined",
    "device",
)
#: Rules whose findings mean root on the node: blocking for non-admins unless allowed.
DANGEROUS = (
    "privileged",
    "docker-socket",
    "host-network",
    "host-pid",
    "host-ipc",
    "host-userns",
    "host-mount",
    "capability",
    "unconfined",
    "device",
)
_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
#: Host directories whose bind mount hands a container the host (or its engine, or its keys).
SYSTEM_PATHS = (
    "/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/run", "/var/run",
    "/var/lib/docker", "/var/lib/fleetdeck", "/usr", "/lib", "/bin", "/sbin",
)  # fmt: skip
#: Capabilities that escape a container (or read any file on the host).
CAPABILITIES = (
    "ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "DAC_READ_SEARCH",
    "DAC_OVERRIDE", "NET_ADMIN", "BPF", "PERFMON", "SYS_TIME", "MKNOD", "SETFCAP",
)  # fmt: skip
_UNCONFINED = (
    "seccomp=unconfined",
    "seccomp:unconfined",
    "apparmor=unconfined",
    "apparmor:unconfined",
    "label=disable",
    "label:disable",
    "systempaths=unconfined",
)
_ROOT = ("", "0", "root")
#: A finding that says what could not be checked: shown, never blocking.
UNKNOWN = "unknown"


def image_key(project: Project, name: str) -> str:
    """The image reference a service names (``PROJECT-SERVICE`` for a build without ``image``)."""
    return project.services[name].image or f"{project.name}-{name}"


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


def _root_user(
    service: Service, image: str, image_user: str | None, *, inspected: bool
) -> tuple[str, str] | None:
    """``(rule or UNKNOWN, message)`` when the service may run as root.

    ``image_user`` is the image's ``USER`` (``""``: none), or None when it was not inspected;
    ``inspected`` False: the applier inspects no image (the file's ``user:`` alone decides).
    """
    if service.user:
        user = service.user.split(":")[0]
        return ("root-user", f"runs as root (user: {service.user})") if user in _ROOT else None
    if not inspected:
        return ("root-user", "runs as root (no user set)")
    if image_user is None:
        return (
            UNKNOWN,
            f"sets no user and image {image} is not on the node yet: its USER is unknown "
            "(root-user not checked)",
        )
    if image_user.split(":")[0] in _ROOT:
        return ("root-user", "runs as root (no user set, and the image sets none)")
    return None


def service_findings(
    name: str,
    service: Service,
    image_user: str | None = None,
    *,
    image: str = "",
    inspected: bool = False,
    guarded: tuple[str, str] | None = None,
) -> list[tuple[str, str]]:
    """``(rule, message)`` for one service; ``image_user``, ``inspected`` as in _root_user.

    ``guarded``: (the server's data dir, the stack's directory), see :func:`_server_path`.
    """
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
    found.extend(_root_on_node(service, guarded))
    root = _root_user(service, image or service.image or name, image_user, inspected=inspected)
    if root is not None:
        found.append(root)
    if not _memory_limit(service):
        found.append(("no-memory-limit", "has no memory limit"))
    if _latest(service.image):
        found.append(("latest-tag", f"image {service.image} uses the moving 'latest' tag"))
    return found


def _system_path(source: str) -> bool:
    path = "/" + source.strip("/")
    return any(path == p or (p != "/" and path.startswith(p + "/")) for p in SYSTEM_PATHS)


def _server_path(source: str, guarded: tuple[str, str] | None) -> bool:
    """Whether a bind of ``source`` reaches the server's data dir (outside the stack's own).

    ``guarded`` is (the server's data dir, the stack's own directory under it). On a node
    that shares the server's disk (a ``local`` environment, a lab), a bind of the data dir
    or of any directory above it would hand a container the CA key and the master key.
    """
    if guarded is None or not source:
        return False
    data, own = (posixpath.normpath(p) for p in guarded)
    path = posixpath.normpath(posixpath.join(own, source))
    if path == own or path.startswith(own + "/"):
        return False
    return path == data or path.startswith(data + "/") or data.startswith(path.rstrip("/") + "/")


def _root_on_node(
    service: Service, guarded: tuple[str, str] | None = None
) -> list[tuple[str, str]]:
    """The other ways a service gets root on its node (see :data:`DANGEROUS`)."""
    found: list[tuple[str, str]] = []
    if service.ipc == "host":
        found.append(("host-ipc", "uses the host's IPC namespace"))
    if service.userns_mode == "host":
        found.append(("host-userns", "uses the host's user namespace"))
    for vol in service.volumes:
        source = vol.source or ""
        if vol.type != "bind" or source.rstrip("/") in _SOCKETS:
            continue
        if _system_path(source):
            found.append(("host-mount", f"bind-mounts the host's {source} at {vol.target}"))
        elif _server_path(source, guarded):
            found.append(
                ("host-mount", f"bind-mounts {source} at {vol.target}: the server's own data")
            )
    for cap in service.cap_add:
        if cap.upper().removeprefix("CAP_") in CAPABILITIES:
            found.append(("capability", f"adds capability {cap}"))
    for option in service.security_opt:
        if option.replace(" ", "") in _UNCONFINED:
            found.append(("unconfined", f"turns off confinement ({option})"))
    for device in service.devices:
        found.append(("device", f"has the host's device {device.source}"))
    return found


def findings(
    project: Project,
    blocking: Collection[str],
    image_users: Mapping[str, str] | None = None,
    *,
    refused: Collection[str] = (),
    guarded: tuple[str, str] | None = None,
) -> list[Finding]:
    """Every finding of the project, blocking where the server's setting says so.

    Args:
        project: The loaded project.
        blocking: Rules that block a deploy (the server's setting, for everyone).
        refused: :data:`DANGEROUS` rules that block this deploy too (its principal is no
            admin, and no admin allowed them for the stack or its environment).
        image_users: The ``USER`` of each image inspected on the node, by image reference
            (:func:`image_key`); an image missing from it was not inspected. None when the
            applier inspects no image (a Swarm's): a service without ``user:`` counts as root.
        guarded: (the server's data dir, the stack's own directory): a bind mount that reaches
            the data dir from outside the stack's directory is a ``host-mount`` finding.
    """
    result: list[Finding] = []
    for name, service in sorted(project.services.items()):
        key = image_key(project, name)
        image_user = image_users.get(key) if image_users is not None else None
        found = service_findings(
            name,
            service,
            image_user,
            image=key,
            inspected=image_users is not None,
            guarded=guarded,
        )
        for rule, message in found:
            if rule == UNKNOWN:
                result.append(Finding(rule="root-user", service=name, message=message))
            else:
                blocks = rule in blocking or rule in refused
                result.append(Finding(rule, name, message, blocking=blocks))
    return result
