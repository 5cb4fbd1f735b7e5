"""A Compose service as a Swarm ServiceSpec (what ``docker stack deploy`` would send, and more).

Names follow ``docker stack``: the service ``web`` of stack ``shop`` is ``shop_web``, its
networks ``shop_NAME``, and every object carries ``com.docker.stack.namespace`` so that
``docker stack ls/ps/services`` recognise the stack. Keys a Swarm cannot honour are refused
by :func:`unsupported_keys` before anything changes, rather than silently dropped as
``docker stack deploy`` does. Update, rollback and restart settings are always complete
(see :mod:`fleetdeck.server.stacks.swarm.defaults`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import fleetdeck.labels
from fleetdeck.server.stacks.plan import Strategy
from fleetdeck.server.stacks.swarm import defaults
from fleetdeck.wire.containers import IMAGE_REF_LABEL

if TYPE_CHECKING:
    from fleetdeck.compose import Project, Service
    from fleetdeck.compose.model_parts import FileRef, PortSpec, ServiceNetwork, ServiceVolume

NAMESPACE = fleetdeck.labels.STACK_NAMESPACE
STACK_IMAGE = fleetdeck.labels.STACK_IMAGE
#: Service label: per-key fingerprints of the spec fleetdeck sent (see swarm_compare).
FINGERPRINT = fleetdeck.labels.FLEETDECK_FINGERPRINT

#: Compose keys a Swarm service has no equivalent for (an error naming them, not a warning).
_UNSUPPORTED = (
    "privileged",
    "devices",
    "gpus",
    "pid",
    "ipc",
    "userns_mode",
    "cgroup_parent",
    "shm_size",
    "security_opt",
    "network_mode",
    "container_name",
    "volumes_from",
    "links",
    "external_links",
    "cpu_shares",
    "oom_score_adj",
    "memswap_limit",
    "platform",
    "domainname",
)


@dataclass(frozen=True)
class SwarmObject:
    """A secret or config as a service refers to it: its Swarm name and id ("" until made)."""

    name: str
    id: str = ""


@dataclass(frozen=True)
class SpecInputs:
    """What a service spec needs besides the service: names resolved for this target."""

    stack: str
    routing_mesh: bool
    strategy: Strategy = Strategy.auto
    images: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, SwarmObject] = field(default_factory=dict)
    configs: dict[str, SwarmObject] = field(default_factory=dict)


def scoped(stack: str, name: str) -> str:
    """A stack object's Swarm name, as ``docker stack`` spells it."""
    return f"{stack}_{name}"


def unsupported_keys(service: Service) -> list[str]:
    """The keys of ``service`` a Swarm cannot honour (empty when it deploys as is)."""
    found = [key for key in _UNSUPPORTED if getattr(service, key) not in (None, [], {})]
    if service.image is None:
        found.append("build (a Swarm runs images from a registry; set image)")
    resources = service.deploy.resources if service.deploy else None
    if resources and resources.reservations and resources.reservations.devices:
        found.append("deploy.resources.reservations.devices")
    found.extend(f"ports.host_ip ({p.host_ip})" for p in service.ports if p.host_ip)
    if service.healthcheck and service.healthcheck.start_interval is not None:
        found.append("healthcheck.start_interval (needs Engine API 1.44)")
    return found


def network_names(project: Project, stack: str) -> dict[str, str]:
    """Each project network's Swarm name (external ones keep theirs)."""
    names: dict[str, str] = {}
    for key, network in project.networks.items():
        names[key] = network.name or (key if network.external else scoped(stack, key))
    return names


def _ports(ports: list[PortSpec], routing_mesh: bool) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for port in ports:
        if not port.published:
            continue  # only exposed: every port is reachable on the stack's networks
        first, _, last = port.published.partition("-")
        mode = port.mode if routing_mesh else "host"
        for offset, published in enumerate(range(int(first), int(last or first) + 1)):
            entry: dict[str, Any] = {
                "Protocol": port.protocol,
                "TargetPort": port.target + offset,
                "PublishedPort": published,
                "PublishMode": mode,
            }
            if port.name:
                entry["Name"] = port.name
            result.append(entry)
    return result


def _mount(volume: ServiceVolume, project: Project, stack: str) -> dict[str, Any]:
    mount: dict[str, Any] = {
        "Type": volume.type,
        "Target": volume.target,
        "ReadOnly": volume.read_only,
    }
    if volume.type == "volume":
        declared = project.volumes.get(volume.source or "")
        if volume.source and declared is not None:
            external = bool(declared.external)
            mount["Source"] = declared.name or (
                volume.source if external else scoped(stack, volume.source)
            )
            options: dict[str, Any] = {"Labels": {NAMESPACE: stack}}
            if declared.driver:
                options["DriverConfig"] = {
                    "Name": declared.driver,
                    "Options": dict(declared.driver_opts),
                }
            if volume.volume and volume.volume.nocopy:
                options["NoCopy"] = True
            mount["VolumeOptions"] = options
        elif volume.source:
            mount["Source"] = volume.source
    elif volume.type == "bind":
        mount["Source"] = volume.source
        if volume.bind and volume.bind.propagation:
            mount["BindOptions"] = {"Propagation": volume.bind.propagation}
    elif volume.tmpfs:
        tmpfs: dict[str, Any] = {}
        if volume.tmpfs.size is not None:
            tmpfs["SizeBytes"] = volume.tmpfs.size
        if volume.tmpfs.mode is not None:
            tmpfs["Mode"] = volume.tmpfs.mode
        mount["TmpfsOptions"] = tmpfs
    return mount


def _tmpfs(paths: list[str]) -> list[dict[str, Any]]:
    return [{"Type": "tmpfs", "Target": path.split(":", 1)[0]} for path in paths]


def _file_refs(
    refs: list[FileRef], objects: dict[str, SwarmObject], *, secret: bool
) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for ref in refs:
        obj = objects[ref.source]
        target = ref.target or (ref.source if secret else f"/{ref.source}")
        file = {
            "Name": target,
            "UID": ref.uid or "0",
            "GID": ref.gid or "0",
            "Mode": ref.mode if ref.mode is not None else 0o444,
        }
        kind = "Secret" if secret else "Config"
        result.append({"File": file, f"{kind}ID": obj.id, f"{kind}Name": obj.name})
    return result


def _healthcheck(service: Service) -> dict[str, Any] | None:
    check = service.healthcheck
    if check is None:
        return None
    if check.disable:
        return {"Test": ["NONE"]}
    result: dict[str, Any] = {}
    if check.test:
        result["Test"] = list(check.test)
    for key, value in (
        ("Interval", check.interval),
        ("Timeout", check.timeout),
        ("StartPeriod", check.start_period),
    ):
        if value is not None:
            result[key] = defaults.nanos(value)
    if check.retries is not None:
        result["Retries"] = check.retries
    return result


def _container_spec(
    name: str, service: Service, inputs: SpecInputs, project: Project
) -> dict[str, Any]:
    stack = inputs.stack
    image = inputs.images.get(name) or service.image
    # The tag the file wrote, for display: tasks run the pinned digest (see swarm_compare).
    written = {IMAGE_REF_LABEL: service.image} if service.image and service.image != image else {}
    spec: dict[str, Any] = {
        "Image": image,
        "Labels": {**service.labels, NAMESPACE: stack, **written},
        "Env": [k if v is None else f"{k}={v}" for k, v in sorted(service.environment.items())],
        "Mounts": [_mount(v, project, stack) for v in service.volumes] + _tmpfs(service.tmpfs),
        "Secrets": _file_refs(service.secrets, inputs.secrets, secret=True),
        "Configs": _file_refs(service.configs, inputs.configs, secret=False),
    }
    optional: dict[str, Any] = {
        "Command": service.entrypoint,
        "Args": service.command,
        "Hostname": service.hostname,
        "Dir": service.working_dir,
        "User": service.user,
        "Groups": service.group_add or None,
        "ReadOnly": service.read_only,
        "Init": service.init,
        "TTY": service.tty,
        "OpenStdin": service.stdin_open,
        "StopSignal": service.stop_signal,
        "StopGracePeriod": (
            defaults.nanos(service.stop_grace_period) if service.stop_grace_period else None
        ),
        "HealthCheck": _healthcheck(service),
        "Hosts": [f"{ip} {host}" for host, ips in service.extra_hosts.items() for ip in ips]
        or None,
        "Sysctls": dict(service.sysctls) or None,
        "CapabilityAdd": service.cap_add or None,
        "CapabilityDrop": service.cap_drop or None,
        "Ulimits": [{"Name": k, "Soft": u.soft, "Hard": u.hard} for k, u in service.ulimits.items()]
        or None,
    }
    if service.dns or service.dns_search or service.dns_opt:
        optional["DNSConfig"] = {
            "Nameservers": service.dns,
            "Search": service.dns_search,
            "Options": service.dns_opt,
        }
    spec.update({k: v for k, v in optional.items() if v is not None})
    return spec


def _resources(service: Service) -> dict[str, Any]:
    deploy = service.deploy.resources if service.deploy else None
    limits: dict[str, Any] = {}
    reservations: dict[str, Any] = {}
    cpus = deploy.limits.cpus if deploy and deploy.limits else None
    memory = deploy.limits.memory if deploy and deploy.limits else None
    pids = deploy.limits.pids if deploy and deploy.limits else None
    # The plain (non-deploy) keys count where deploy.resources leaves a value out.
    cpus = cpus if cpus is not None else service.cpus
    memory = memory if memory is not None else service.mem_limit
    pids = pids if pids is not None else service.pids_limit
    if cpus is not None:
        limits["NanoCPUs"] = int(cpus * defaults.NS)
    if memory is not None:
        limits["MemoryBytes"] = memory
    if pids is not None:
        limits["Pids"] = pids
    res_cpus = deploy.reservations.cpus if deploy and deploy.reservations else None
    res_memory = deploy.reservations.memory if deploy and deploy.reservations else None
    res_memory = res_memory if res_memory is not None else service.mem_reservation
    if res_cpus is not None:
        reservations["NanoCPUs"] = int(res_cpus * defaults.NS)
    if res_memory is not None:
        reservations["MemoryBytes"] = res_memory
    return {"Limits": limits, "Reservations": reservations}


def _placement(service: Service) -> dict[str, Any]:
    placement = service.deploy.placement if service.deploy else None
    if placement is None:
        return {}
    result: dict[str, Any] = {}
    if placement.constraints:
        result["Constraints"] = list(placement.constraints)
    if placement.preferences:
        result["Preferences"] = [
            {"Spread": {"SpreadDescriptor": p.spread}} for p in placement.preferences
        ]
    if placement.max_replicas_per_node is not None:
        result["MaxReplicas"] = placement.max_replicas_per_node
    return result


def _networks(service: Service, project: Project, stack: str, name: str) -> list[dict[str, Any]]:
    names = network_names(project, stack)
    wanted: dict[str, ServiceNetwork | None] = dict(service.networks) or {"default": None}
    result = []
    for key, attachment in sorted(wanted.items()):
        aliases = [name, *(attachment.aliases if attachment else [])]
        result.append({"Target": names.get(key, key), "Aliases": aliases})
    return result


def _mode(service: Service) -> dict[str, Any]:
    deploy = service.deploy
    mode = (deploy.mode if deploy else None) or "replicated"
    if mode == "global":
        return {"Global": {}}
    if mode == "global-job":
        return {"GlobalJob": {}}
    replicas = deploy.replicas if deploy and deploy.replicas is not None else service.scale
    replicas = 1 if replicas is None else replicas
    if mode == "replicated-job":
        return {"ReplicatedJob": {"MaxConcurrent": replicas, "TotalCompletions": replicas}}
    return {"Replicated": {"Replicas": replicas}}


def service_spec(
    name: str, service: Service, project: Project, inputs: SpecInputs
) -> tuple[dict[str, Any], list[str]]:
    """The ServiceSpec for one service, and notes about choices made for this target."""
    notes: list[str] = []
    deploy = service.deploy
    stack = inputs.stack
    template: dict[str, Any] = {
        "ContainerSpec": _container_spec(name, service, inputs, project),
        "Resources": _resources(service),
        "RestartPolicy": defaults.restart_policy(service),
        "Placement": _placement(service),
        "Networks": _networks(service, project, stack, name),
    }
    if service.logging and service.logging.driver:
        template["LogDriver"] = {
            "Name": service.logging.driver,
            "Options": dict(service.logging.options),
        }
    endpoint_mode = (deploy.endpoint_mode if deploy else None) or (
        "vip" if inputs.routing_mesh else "dnsrr"
    )
    if endpoint_mode == "vip" and not inputs.routing_mesh:
        endpoint_mode = "dnsrr"
        notes.append(f"{name}: endpoint_mode vip needs IPVS: using dnsrr")
    ports = _ports(service.ports, inputs.routing_mesh)
    host_ports = any(p["PublishMode"] == "host" for p in ports)
    spec: dict[str, Any] = {
        "Name": scoped(stack, name),
        "Labels": {
            **(deploy.labels if deploy else {}),
            NAMESPACE: stack,
            STACK_IMAGE: inputs.images.get(name) or service.image or "",
        },
        "TaskTemplate": template,
        "Mode": _mode(service),
        "EndpointSpec": {"Mode": endpoint_mode, "Ports": ports},
    }
    if not any(key.endswith("Job") for key in spec["Mode"]):
        order, note = defaults.update_order(service, inputs.strategy, host_ports=host_ports)
        if note:
            notes.append(f"{name}: {note}")
        monitor = defaults.monitor_seconds(service)
        given_update = deploy.update_config if deploy else None
        given_rollback = deploy.rollback_config if deploy else None
        spec["UpdateConfig"] = defaults.update_config(
            given_update, order=order, monitor_s=monitor, rollback=False
        )
        spec["RollbackConfig"] = defaults.update_config(
            given_rollback, order=order, monitor_s=monitor, rollback=True
        )
    return spec, notes
