"""The stack hardening rules, applied to a container created outside any stack.

A :class:`~fleetdeck.container_spec.ContainerSpec` is read as a one-service Compose project and
judged by :func:`fleetdeck.server.stacks.hardening.service_findings`, so ``fleetdeck run`` and
the UI's Create form refuse exactly what a stack deploy refuses a non-admin: the
:data:`~fleetdeck.server.stacks.hardening.DANGEROUS` rules (privileged, the Docker socket, the
host's network, PID or IPC namespace, capabilities, unconfined, devices). One rule is
stricter than a stack's: outside a stack there is no stack directory a relative bind could
stay inside, so *every* bind of a host path is ``host-mount`` (a named volume is not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.compose.model_service import Service
from fleetdeck.errors import PermissionDeniedError
from fleetdeck.server.stacks.hardening import DANGEROUS, service_findings

if TYPE_CHECKING:
    from fleetdeck.container_spec import ContainerSpec
    from fleetdeck.server.auth.principal import Principal


def _as_service(spec: ContainerSpec) -> Service:
    raw: dict[str, Any] = {
        "image": spec.image,
        "privileged": spec.privileged,
        "volumes": [{"type": m.type, "source": m.source, "target": m.target} for m in spec.mounts],
        "network_mode": spec.network_mode,
        "pid": spec.pid,
        "ipc": spec.ipc,
        "cap_add": spec.cap_add,
        "security_opt": spec.security_opt,
        "devices": spec.devices,
    }
    return Service.model_validate(raw)


def _judge(name: str, service: Service, binds: list[tuple[str, str]]) -> list[tuple[str, str]]:
    found = [
        (rule, message) for rule, message in service_findings(name, service) if rule in DANGEROUS
    ]
    for source, target in binds:
        # A system path or the Docker socket has its finding already (naming its target).
        if not any(f" at {target}" in message for _, message in found):
            found.append(("host-mount", f"bind-mounts the host's {source} at {target}"))
    return found


def findings(spec: ContainerSpec) -> list[tuple[str, str]]:
    """``(rule, message)`` for every dangerous setting of the spec (no warnings)."""
    binds = [(m.source, m.target) for m in spec.mounts if m.type == "bind"]
    return _judge(spec.name or "container", _as_service(spec), binds)


def inspect_findings(inspect: dict[str, Any]) -> list[tuple[str, str]]:
    """The same judgement of a running container, read from its ``docker inspect``.

    Recreate keeps a container's settings, so they grant nothing new, except with a fresh
    pull: then whatever image is under the tag now runs with them. A privileged container an
    admin made must not become an operator's way to run their own image with its powers.
    """
    host = inspect.get("HostConfig") or {}
    binds = [
        (str(m.get("Source") or ""), str(m.get("Destination") or ""))
        for m in inspect.get("Mounts") or []
        if m.get("Type") == "bind"
    ]
    shared = {"host"}
    network = str(host.get("NetworkMode") or "")
    raw: dict[str, Any] = {
        "image": str((inspect.get("Config") or {}).get("Image") or "image"),
        "privileged": bool(host.get("Privileged")),
        "volumes": [{"type": "bind", "source": s, "target": t} for s, t in binds],
        "network_mode": network if network in shared else None,
        "pid": host.get("PidMode") if host.get("PidMode") in shared else None,
        "ipc": host.get("IpcMode") if host.get("IpcMode") in shared else None,
        "cap_add": list(host.get("CapAdd") or []),
        "security_opt": list(host.get("SecurityOpt") or []),
        "devices": [
            f"{d.get('PathOnHost')}:{d.get('PathInContainer')}" for d in host.get("Devices") or []
        ],
    }
    name = str(inspect.get("Name") or "container").lstrip("/")
    return _judge(name, Service.model_validate(raw), binds)


def check(spec: ContainerSpec, principal: Principal) -> list[tuple[str, str]]:
    """The spec's findings; raise PermissionDeniedError if the principal may not have them.

    An admin may create anything (as an admin's stack deploy is not blocked by these rules);
    everyone else gets none of them.
    """
    found = findings(spec)
    if found and not principal.is_admin:
        rules = ", ".join(sorted({rule for rule, _ in found}))
        raise PermissionDeniedError(
            f"only an admin may create this container ({rules}): "
            + "; ".join(message for _, message in found),
            hint="use a named volume instead of a host path; ask an admin for the rest",
        )
    return found
