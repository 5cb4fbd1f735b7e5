"""Create (and start) a container from a :class:`~fleetdeck.container_spec.ContainerSpec`.

The spec reached the agent judged already (the server refuses what the caller's role may not
do); this module only says it in the Engine API's words. The image is pulled first when it is
missing (as ``docker run`` does) or when the spec asks to always pull.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.agent.engine_recreate import pull_or_fail
from fleetdeck.agent.engine_stacks import create_container
from fleetdeck.errors import FleetdeckError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fleetdeck.agent.engine import Engine
    from fleetdeck.container_spec import ContainerSpec


def create_body(spec: ContainerSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the Engine API create body, the other networks to join) of a spec."""
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in spec.ports:
        key = f"{port.container_port}/{port.protocol}"
        exposed[key] = {}
        if port.host_port is not None:
            bindings.setdefault(key, []).append(
                {"HostIp": port.host_ip or "", "HostPort": str(port.host_port or "")}
            )
    mounts = [
        {"Type": m.type, "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}
        for m in spec.mounts
    ]
    primary = spec.network_mode or (spec.networks[0] if spec.networks else "bridge")
    host: dict[str, Any] = {
        "NetworkMode": primary,
        "PortBindings": bindings,
        "Mounts": mounts,
        "RestartPolicy": {"Name": "" if spec.restart == "no" else spec.restart},
        "Privileged": spec.privileged,
        "CapAdd": spec.cap_add or None,
        "SecurityOpt": spec.security_opt or None,
        "Devices": [
            {"PathOnHost": d, "PathInContainer": d, "CgroupPermissions": "rwm"}
            for d in spec.devices
        ],
        "PidMode": spec.pid or "",
        "IpcMode": spec.ipc or "",
    }
    body: dict[str, Any] = {
        "Image": spec.image,
        "Env": spec.env,
        "Labels": spec.labels,
        "ExposedPorts": exposed,
        "HostConfig": host,
    }
    for key, value in (
        ("Cmd", spec.cmd),
        ("Entrypoint", spec.entrypoint),
        ("User", spec.user),
        ("WorkingDir", spec.working_dir),
    ):
        if value is not None:
            body[key] = value
    others: dict[str, Any] = {}
    if spec.network_mode is None and spec.networks:
        body["NetworkingConfig"] = {"EndpointsConfig": {primary: {}}}
        others = {n: {} for n in spec.networks[1:]}
    return body, others


async def _has_image(engine: Engine, image: str) -> bool:
    try:
        await engine.request("GET", f"images/{image}/json")
    except NotFoundError:
        return False
    return True


async def create_from_spec(
    engine: Engine, spec: ContainerSpec, auth: Mapping[str, str] | None = None
) -> str:
    """Pull if needed, create, join the networks and (unless told not to) start; the new id.

    A container that was created but does not start is removed again: a failed ``run`` leaves
    nothing behind.
    """
    missing = spec.pull == "missing" and not await _has_image(engine, spec.image)
    if spec.pull == "always" or missing:
        await pull_or_fail(engine, spec.image, auth)
    body, others = create_body(spec)
    cid = await create_container(engine, spec.name or "", body, others)
    if spec.start:
        try:
            await engine.container_action(cid, "start")
        except FleetdeckError:
            await engine.remove_container(cid, force=True, volumes=False)
            raise
    return cid
