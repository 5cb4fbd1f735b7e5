"""From a Compose service to Docker Engine API bodies, Compose labels and a config hash.

What a container of a service *should* be is computed once per deploy as a
:class:`ServiceSpec`: the create body (without the per-replica name and number), the networks
with their aliases, and a hash of the configuration. The hash is computed per key
(``environment.LOG_LEVEL``, ``ports``…) with an HMAC keyed by the server, and those per-key
hashes travel in a label of every container, so a later plan can say *which* keys changed
from the containers alone, without storing or revealing values (secrets included).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck import labels
from fleetdeck.compose.model_base import compact

if TYPE_CHECKING:
    from fleetdeck.compose import Project, Service
    from fleetdeck.compose.model_deploy import UpdateConfig

COMPOSE_VERSION = "1.29.2"
# Short names, for the host modules, of keys defined once in fleetdeck.labels.
L_PROJECT = labels.COMPOSE_PROJECT
L_SERVICE = labels.COMPOSE_SERVICE
L_NUMBER = labels.COMPOSE_NUMBER
L_ONEOFF = labels.COMPOSE_ONEOFF
L_HASH = labels.COMPOSE_CONFIG_HASH
L_WORKDIR = labels.COMPOSE_WORKING_DIR
L_FILES = labels.COMPOSE_CONFIG_FILES
L_VERSION = labels.COMPOSE_VERSION
L_NETWORK = labels.COMPOSE_NETWORK
L_VOLUME = labels.COMPOSE_VOLUME
L_REVISION = labels.FLEETDECK_REVISION
L_KEYS = labels.FLEETDECK_CONFIG_KEYS

#: Keys that never make a container different: ordering, scaling and rollout settings.
_NOT_HASHED = {"depends_on", "scale", "profiles", "pull_policy", "build"}
_PER_ENTRY = {"environment", "labels"}
_NS = 1_000_000_000


@dataclass
class ServiceSpec:
    """Everything needed to create one replica of a service (image resolved separately)."""

    service: str
    replicas: int
    config: dict[str, Any]
    networks: dict[str, dict[str, Any]]
    key_hashes: dict[str, str]
    config_hash: str
    fixed_ports: list[str] = field(default_factory=list)
    has_healthcheck: bool = False
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (kind:name, target)
    #: The image as the Compose file writes it (the replica is created from a pinned digest).
    image: str = ""


def replicas_of(service: Service) -> int:
    """The replica count Compose would run (``deploy.replicas``, ``scale``, else 1)."""
    if service.deploy is not None and service.deploy.replicas is not None:
        return service.deploy.replicas
    return service.scale if service.scale is not None else 1


def update_config(service: Service) -> UpdateConfig | None:
    """The service's ``deploy.update_config`` if it has one."""
    return service.deploy.update_config if service.deploy is not None else None


def key_hashes(service: Service, secret_versions: dict[str, str], key: bytes) -> dict[str, str]:
    """HMAC (12 hex) of every configuration key of ``service``; env/labels per entry."""
    data = compact(service)
    if service.deploy is not None:
        deploy = dict(data.get("deploy") or {})
        for name in ("replicas", "update_config", "rollback_config"):
            deploy.pop(name, None)
        data["deploy"] = deploy
    items: dict[str, Any] = {}
    for name, value in data.items():
        if name in _NOT_HASHED or value in ({}, [], None):
            continue
        if name in _PER_ENTRY and isinstance(value, dict):
            items.update({f"{name}.{k}": v for k, v in value.items()})
        else:
            items[name] = value
    for ref in [*service.secrets, *service.configs]:
        version = secret_versions.get(ref.source)
        if version:
            items[f"secret-value.{ref.source}"] = version
    return {
        name: hmac.new(key, _canonical(value), hashlib.sha256).hexdigest()[:12]
        for name, value in sorted(items.items())
    }


def config_hash(hashes: dict[str, str]) -> str:
    """The one config hash of a container (Compose's ``config-hash`` label)."""
    return hashlib.sha256(_canonical(hashes)).hexdigest()


def changed_keys(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Keys added, removed or changed between two per-key hash maps."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def build_spec(
    project: Project,
    name: str,
    *,
    secret_versions: dict[str, str],
    hash_key: bytes,
) -> ServiceSpec:
    """The spec of service ``name`` of ``project``."""
    service = project.services[name]
    hashes = key_hashes(service, secret_versions, hash_key)
    networks = _networks(project, name, service)
    config = _container_body(project, name, service)
    fixed = [
        f"{p.host_ip + ':' if p.host_ip else ''}{p.published}/{p.protocol}"
        for p in service.ports
        if p.published
    ]
    files: dict[str, tuple[str, str]] = {}
    for kind, refs in (("secret", service.secrets), ("config", service.configs)):
        for ref in refs:
            default_dir = "/run/secrets" if kind == "secret" else "/"
            target = ref.target or ref.source
            if not target.startswith("/"):
                target = f"{default_dir.rstrip('/')}/{target}"
            files[f"{kind}-{ref.source}"] = (f"{kind}:{ref.source}", target)
    return ServiceSpec(
        service=name,
        replicas=replicas_of(service),
        config=config,
        networks=networks,
        key_hashes=hashes,
        config_hash=config_hash(hashes),
        fixed_ports=fixed,
        has_healthcheck=_has_healthcheck(service),
        files=files,
        image=service.image or "",
    )


def _has_healthcheck(service: Service) -> bool:
    check = service.healthcheck
    if check is None:
        return True  # the image may define one: the applier looks at the container
    return not check.disable and not (check.test and check.test[0] == "NONE")


def _networks(project: Project, name: str, service: Service) -> dict[str, dict[str, Any]]:
    """Docker network name → endpoint settings; the service name is always an alias."""
    if service.network_mode is not None:
        return {}
    result: dict[str, dict[str, Any]] = {}
    for key, attach in service.networks.items():
        network = project.networks.get(key)
        docker_name = network.name if network is not None and network.name else key
        endpoint: dict[str, Any] = {"Aliases": [name, *attach.aliases]}
        if attach.ipv4_address:
            endpoint["IPAMConfig"] = {"IPv4Address": attach.ipv4_address}
        result[docker_name] = endpoint
    return result


def _healthcheck(service: Service) -> dict[str, Any] | None:
    check = service.healthcheck
    if check is None:
        return None
    if check.disable:
        return {"Test": ["NONE"]}
    body: dict[str, Any] = {}
    if check.test:
        body["Test"] = check.test
    for field_name, key in (
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start_period", "StartPeriod"),
        ("start_interval", "StartInterval"),
    ):
        value = getattr(check, field_name)
        if value is not None:
            body[key] = int(value * _NS)
    if check.retries is not None:
        body["Retries"] = check.retries
    return body


def _restart(service: Service) -> dict[str, Any]:
    policy = service.restart
    if service.deploy is not None and service.deploy.restart_policy is not None:
        rp = service.deploy.restart_policy
        mapped = {"none": "no", "on-failure": "on-failure", "any": "always"}
        return {
            "Name": mapped.get(rp.condition or "any", "always"),
            "MaximumRetryCount": rp.max_attempts or 0,
        }
    if not policy or policy == "no":
        return {"Name": "no"}
    name, _, count = policy.partition(":")
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


def _mounts(project: Project, service: Service) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = []
    for vol in service.volumes:
        mount: dict[str, Any] = {"Type": vol.type, "Target": vol.target, "ReadOnly": vol.read_only}
        if vol.type == "volume" and vol.source:
            declared = project.volumes.get(vol.source)
            mount["Source"] = (
                declared.name if declared is not None and declared.name else vol.source
            )
            if vol.volume is not None and vol.volume.nocopy:
                mount["VolumeOptions"] = {"NoCopy": True}
        elif vol.type == "bind":
            mount["Source"] = vol.source
            if vol.bind is not None and vol.bind.propagation:
                mount["BindOptions"] = {"Propagation": vol.bind.propagation}
        elif vol.type == "tmpfs" and vol.tmpfs is not None:
            options: dict[str, Any] = {}
            if vol.tmpfs.size is not None:
                options["SizeBytes"] = vol.tmpfs.size
            if vol.tmpfs.mode is not None:
                options["Mode"] = vol.tmpfs.mode
            mount["TmpfsOptions"] = options
        mounts.append(mount)
    return mounts


def _ports(service: Service) -> tuple[dict[str, Any], dict[str, Any]]:
    exposed: dict[str, Any] = {f"{p}/tcp" if "/" not in p else p: {} for p in service.expose}
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in service.ports:
        key = f"{port.target}/{port.protocol}"
        exposed[key] = {}
        binding = {"HostIp": port.host_ip or "", "HostPort": port.published or ""}
        bindings.setdefault(key, []).append(binding)
    return exposed, bindings


def _limits(service: Service, host: dict[str, Any]) -> None:
    limits = (
        service.deploy.resources.limits if service.deploy and service.deploy.resources else None
    )
    reserve = (
        service.deploy.resources.reservations
        if service.deploy and service.deploy.resources
        else None
    )
    memory = limits.memory if limits and limits.memory else service.mem_limit
    cpus = limits.cpus if limits and limits.cpus else service.cpus
    pids = limits.pids if limits and limits.pids else service.pids_limit
    reservation = reserve.memory if reserve and reserve.memory else service.mem_reservation
    for key, value in (
        ("Memory", memory),
        ("MemoryReservation", reservation),
        ("MemorySwap", service.memswap_limit),
        ("NanoCpus", int(cpus * _NS) if cpus else None),
        ("PidsLimit", pids),
        ("CpuShares", service.cpu_shares),
    ):
        if value is not None:
            host[key] = value
    devices = [*(reserve.devices if reserve else []), *service.gpus]
    if devices:
        host["DeviceRequests"] = [
            {
                "Driver": d.driver or "",
                "Count": d.count if d.count is not None else (0 if d.device_ids else -1),
                "DeviceIDs": d.device_ids or None,
                "Capabilities": [d.capabilities],
                "Options": d.options,
            }
            for d in devices
        ]


def _host_config(project: Project, service: Service) -> dict[str, Any]:
    _, bindings = _ports(service)
    host: dict[str, Any] = {
        "Mounts": _mounts(project, service),
        "PortBindings": bindings,
        "RestartPolicy": _restart(service),
        "CapAdd": service.cap_add or None,
        "CapDrop": service.cap_drop or None,
        "SecurityOpt": service.security_opt or None,
        "Privileged": bool(service.privileged),
        "ReadonlyRootfs": bool(service.read_only),
        "Init": service.init,
        "ShmSize": service.shm_size,
        "Dns": service.dns or None,
        "DnsSearch": service.dns_search or None,
        "DnsOptions": service.dns_opt or None,
        "ExtraHosts": [f"{h}:{ip}" for h, ips in service.extra_hosts.items() for ip in ips] or None,
        "Sysctls": service.sysctls or None,
        "GroupAdd": service.group_add or None,
        "Tmpfs": {t.split(":", 1)[0]: t.partition(":")[2] for t in service.tmpfs} or None,
        "VolumesFrom": service.volumes_from or None,
        "PidMode": service.pid,
        "IpcMode": service.ipc,
        "UsernsMode": service.userns_mode,
        "CgroupParent": service.cgroup_parent,
        "OomScoreAdj": service.oom_score_adj,
        "Devices": [
            {"PathOnHost": d.source, "PathInContainer": d.target or d.source,
             "CgroupPermissions": d.permissions}
            for d in service.devices
        ] or None,
        "Ulimits": [
            {"Name": k, "Soft": u.soft, "Hard": u.hard} for k, u in service.ulimits.items()
        ] or None,
    }  # fmt: skip
    if service.logging is not None and service.logging.driver:
        host["LogConfig"] = {"Type": service.logging.driver, "Config": service.logging.options}
    if service.network_mode is not None:
        mode = service.network_mode
        if mode.startswith("service:"):
            mode = f"container:{project.name}-{mode[8:]}-1"
        host["NetworkMode"] = mode
    _limits(service, host)
    return {k: v for k, v in host.items() if v is not None}


def _container_body(project: Project, name: str, service: Service) -> dict[str, Any]:
    exposed, _ = _ports(service)
    env = [f"{k}={v}" for k, v in service.environment.items() if v is not None]
    body: dict[str, Any] = {
        "Cmd": service.command,
        "Entrypoint": service.entrypoint,
        "Env": env,
        "ExposedPorts": exposed or None,
        "User": service.user,
        "WorkingDir": service.working_dir,
        "Hostname": service.hostname,
        "Domainname": service.domainname,
        "Tty": service.tty,
        "OpenStdin": service.stdin_open,
        "StopSignal": service.stop_signal,
        "StopTimeout": int(service.stop_grace_period) if service.stop_grace_period else None,
        "Healthcheck": _healthcheck(service),
        "Labels": dict(service.labels),
        "HostConfig": _host_config(project, service),
    }
    return {k: v for k, v in body.items() if v is not None}


def replica_labels(
    stack: str,
    spec: ServiceSpec,
    number: int,
    *,
    revision: int,
    working_dir: str,
    config_files: list[str],
) -> dict[str, str]:
    """Compose's labels (so ``docker compose ls/ps`` see the container) plus fleetdeck's."""
    return {
        L_PROJECT: stack,
        L_SERVICE: spec.service,
        L_NUMBER: str(number),
        L_ONEOFF: "False",
        L_HASH: spec.config_hash,
        L_WORKDIR: working_dir,
        L_FILES: ",".join(config_files),
        L_VERSION: COMPOSE_VERSION,
        L_REVISION: str(revision),
        L_KEYS: json.dumps(spec.key_hashes, separators=(",", ":"), sort_keys=True),
    }


def container_name(stack: str, service: str, number: int) -> str:
    """``STACK-SERVICE-N`` (as Compose v2 names containers)."""
    return f"{stack}-{service}-{number}"
