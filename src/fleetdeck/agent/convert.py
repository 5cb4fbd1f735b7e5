"""Docker Engine JSON → fleetdeck wire models.

The engine's JSON is verbose and differs between endpoints (a container summary from
``/containers/json`` and an inspect from ``/containers/{id}/json`` name the same facts
differently). These pure functions are the one place that knows both shapes, so the rest of
the agent only handles :mod:`fleetdeck.wire` models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fleetdeck.labels import service_of, stack_of
from fleetdeck.protocol import PROTOCOL_VERSION
from fleetdeck.wire.containers import ContainerStats, EngineContainer, PortBinding
from fleetdeck.wire.fleet import AgentInfo, SwarmInfo
from fleetdeck.wire.resources import ImageInfo, NetworkInfo, SizeStatus, VolumeInfo

#: Docker's "zero" time, which it reports for "never" (e.g. a container never started).
_ZERO_TIME_PREFIX = "0001-01-01"


def parse_time(value: object) -> datetime | None:
    """Parse Docker's RFC 3339 (nanosecond) text or a unix timestamp; None for "never"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC) if value > 0 else None
    if not isinstance(value, str) or not value or value.startswith(_ZERO_TIME_PREFIX):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ports(summary_ports: list[dict[str, Any]] | None) -> list[PortBinding]:
    return [
        PortBinding(
            private_port=int(p.get("PrivatePort", 0)),
            public_port=p.get("PublicPort"),
            ip=p.get("IP") or None,
            protocol=p.get("Type", "tcp"),
        )
        for p in summary_ports or []
    ]


def engine_container(summary: dict[str, Any], inspect: dict[str, Any] | None) -> EngineContainer:
    """Build an EngineContainer from a ``/containers/json`` entry and (optionally) its inspect.

    The summary carries Docker's human status text and the port list; the inspect carries
    what the summary lacks (health, start time, restart count).
    """
    labels: dict[str, str] = summary.get("Labels") or {}
    names: list[str] = summary.get("Names") or []
    state: dict[str, Any] = (inspect or {}).get("State") or {}
    health = (state.get("Health") or {}).get("Status") or None
    return EngineContainer(
        id=summary["Id"],
        name=(names[0] if names else "").lstrip("/"),
        image=summary.get("Image", ""),
        image_id=summary.get("ImageID", ""),
        state=summary.get("State") or state.get("Status") or "unknown",
        status=summary.get("Status", ""),
        health=health,
        created=parse_time(summary.get("Created")) or datetime.fromtimestamp(0, UTC),
        started_at=parse_time(state.get("StartedAt")),
        finished_at=parse_time(state.get("FinishedAt")),
        exit_code=int(state["ExitCode"]) if isinstance(state.get("ExitCode"), int) else None,
        labels=labels,
        ports=_ports(summary.get("Ports")),
        restart_count=int((inspect or {}).get("RestartCount", 0)),
        stack=stack_of(labels),
        service=service_of(labels),
        pid=int(state.get("Pid") or 0),
    )


def agent_info(
    info: dict[str, Any],
    version: dict[str, Any],
    agent_version: str,
    agent_commit: str | None = None,
) -> AgentInfo:
    """Build AgentInfo from the engine's ``/info`` and ``/version``, and the agent's own."""
    swarm: dict[str, Any] = info.get("Swarm") or {}
    cluster: dict[str, Any] = swarm.get("Cluster") or {}
    state = swarm.get("LocalNodeState") or "inactive"
    role = None
    if state == "active":
        role = "manager" if swarm.get("ControlAvailable") else "worker"
    return AgentInfo(
        hostname=info.get("Name", ""),
        engine_state="up",
        engine_version=version.get("Version"),
        api_version=version.get("ApiVersion"),
        os=info.get("OperatingSystem"),
        cpus=info.get("NCPU"),
        memory_bytes=info.get("MemTotal"),
        swarm=SwarmInfo(
            state=state,
            node_id=swarm.get("NodeID") or None,
            cluster_id=cluster.get("ID") or None,
            role=role,
            node_addr=swarm.get("NodeAddr") or None,
        ),
        agent_version=agent_version,
        agent_protocol=PROTOCOL_VERSION,
        agent_commit=agent_commit,
    )


def _cpu_total(stats: dict[str, Any]) -> tuple[int, int, int]:
    cpu = stats.get("cpu_stats") or {}
    usage = cpu.get("cpu_usage") or {}
    online = cpu.get("online_cpus") or len(usage.get("percpu_usage") or []) or 1
    return int(usage.get("total_usage", 0)), int(cpu.get("system_cpu_usage", 0)), int(online)


def _memory_used(mem: dict[str, Any]) -> int:
    usage = int(mem.get("usage", 0))
    detail = mem.get("stats") or {}
    if "inactive_file" in detail and "cache" not in detail:  # cgroup v2
        return max(usage - int(detail["inactive_file"]), 0)
    return max(usage - int(detail.get("cache", 0)), 0)  # cgroup v1


def _blkio(stats: dict[str, Any]) -> tuple[int, int]:
    entries = (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    read = sum(int(e.get("value", 0)) for e in entries if str(e.get("op")).lower() == "read")
    write = sum(int(e.get("value", 0)) for e in entries if str(e.get("op")).lower() == "write")
    return read, write


def container_stats(first: dict[str, Any], second: dict[str, Any]) -> ContainerStats:
    """Compute ContainerStats from two one-shot readings taken a moment apart.

    A one-shot reading has an empty ``precpu_stats``, so CPU % comes from the delta between
    the two readings (as ``docker stats`` does between its own samples).
    """
    cpu1, sys1, _ = _cpu_total(first)
    cpu2, sys2, online = _cpu_total(second)
    cpu_delta, sys_delta = cpu2 - cpu1, sys2 - sys1
    cpu_percent = cpu_delta / sys_delta * online * 100.0 if cpu_delta > 0 and sys_delta > 0 else 0.0
    mem = second.get("memory_stats") or {}
    used, limit = _memory_used(mem), int(mem.get("limit", 0))
    networks: dict[str, dict[str, Any]] = second.get("networks") or {}
    blk_read, blk_write = _blkio(second)
    return ContainerStats(
        cpu_percent=round(cpu_percent, 2),
        memory_usage=used,
        memory_limit=limit,
        memory_percent=round(used / limit * 100.0, 2) if limit else 0.0,
        net_rx=sum(int(n.get("rx_bytes", 0)) for n in networks.values()),
        net_tx=sum(int(n.get("tx_bytes", 0)) for n in networks.values()),
        blk_read=blk_read,
        blk_write=blk_write,
        pids=int((second.get("pids_stats") or {}).get("current", 0)),
        time=parse_time(second.get("read")) or datetime.now(UTC),
    )


def container_name(summary: dict[str, Any]) -> str:
    """A ``/containers/json`` entry's name (its first, without Docker's leading ``/``)."""
    names = summary.get("Names") or []
    return str(names[0]).lstrip("/") if names else str(summary.get("Id", ""))[:12]


def image_users(summaries: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Image id → sorted names of the containers (running or stopped) created from it.

    Matched on ``ImageID``, which stays the image's id even after its tag moves on to another
    image: the old image is still in use, and Docker refuses to remove it without force.
    """
    users: dict[str, list[str]] = {}
    for summary in summaries:
        if image_id := summary.get("ImageID"):
            users.setdefault(str(image_id), []).append(container_name(summary))
    return {image_id: sorted(names) for image_id, names in users.items()}


def volume_users(summaries: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Volume name → sorted names of the containers (running or stopped) that mount it."""
    users: dict[str, set[str]] = {}
    for summary in summaries:
        for mount in summary.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Name"):
                users.setdefault(str(mount["Name"]), set()).add(container_name(summary))
    return {name: sorted(names) for name, names in users.items()}


def volume_sizes(disk_usage: dict[str, Any]) -> dict[str, int | None]:
    """Volume name → bytes, from ``GET /system/df`` (None where the engine reports -1).

    ``UsageData.Size`` is -1 when the engine cannot tell (a driver other than ``local``).
    """
    sizes: dict[str, int | None] = {}
    for volume in disk_usage.get("Volumes") or []:
        size = (volume.get("UsageData") or {}).get("Size")
        valid = isinstance(size, int) and not isinstance(size, bool) and size >= 0
        sizes[str(volume.get("Name"))] = size if valid else None
    return sizes


def image_info(raw: dict[str, Any], used_by: list[str] | None = None) -> ImageInfo:
    """Build ImageInfo from a ``/images/json`` entry and the containers that use it.

    Without ``used_by`` the engine's own ``Containers`` count is kept, which Docker only
    computes in ``/system/df`` (elsewhere it is -1, "not computed": None here).
    """
    tags = [t for t in raw.get("RepoTags") or [] if t != "<none>:<none>"]
    digests = [d for d in raw.get("RepoDigests") or [] if d != "<none>@<none>"]
    containers = raw.get("Containers")
    if used_by is not None:
        containers = len(used_by)
    return ImageInfo(
        id=raw["Id"],
        tags=tags,
        digests=digests,
        size=int(raw.get("Size", 0)),
        created=parse_time(raw.get("Created")),
        containers=containers if isinstance(containers, int) and containers >= 0 else None,
        used_by=used_by or [],
    )


#: A volume's (status, bytes, engine error), as
#: :class:`~fleetdeck.wire.resources.VolumeInfo` has them.
VolumeSize = tuple[SizeStatus, int | None, str | None]
NOT_REQUESTED: VolumeSize = ("not_requested", None, None)


def volume_info(
    raw: dict[str, Any], used_by: list[str] | None = None, size: VolumeSize = NOT_REQUESTED
) -> VolumeInfo:
    """Build VolumeInfo from a volume object, the containers mounting it and its size."""
    status, size_bytes, error = size
    return VolumeInfo(
        name=raw["Name"],
        driver=raw.get("Driver", "local"),
        mountpoint=raw.get("Mountpoint"),
        labels=raw.get("Labels") or {},
        created=parse_time(raw.get("CreatedAt")),
        scope=raw.get("Scope", "local"),
        containers=None if used_by is None else len(used_by),
        used_by=used_by or [],
        size=size_bytes,
        size_status=status,
        size_error=error[:500] if error else None,
    )


def network_info(raw: dict[str, Any]) -> NetworkInfo:
    """Build NetworkInfo from a network object."""
    ipam_config = (raw.get("IPAM") or {}).get("Config") or []
    return NetworkInfo(
        id=raw["Id"],
        name=raw["Name"],
        driver=raw.get("Driver", ""),
        scope=raw.get("Scope", "local"),
        attachable=bool(raw.get("Attachable")),
        internal=bool(raw.get("Internal")),
        labels=raw.get("Labels") or {},
        subnets=[c["Subnet"] for c in ipam_config if c.get("Subnet")],
        containers=sorted((raw.get("Containers") or {}).keys()),
    )
