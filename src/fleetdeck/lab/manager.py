"""``fleetdeck lab``: a real multi-host Docker fleet on one machine.

:class:`Lab` is the one entry point the CLI and the pytest fixtures use. It creates, reports,
disturbs (partition, engine stop) and removes a lab; every method is safe to repeat.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.lab import cleanup, engine, network
from fleetdeck.lab.images import build_seed_images
from fleetdeck.lab.registry import registry_alive, start_registry, wait_registry_ready
from fleetdeck.lab.state import (
    REGISTRY_PORT,
    LabNames,
    LabRecord,
    LabSettings,
    NodeRecord,
    SwarmRecord,
    node_addresses,
)
from fleetdeck.lab.swarm import form_swarm
from fleetdeck.lab.system import require_root, require_tools

if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_NODES = 20


class Lab:
    """One named lab: its kernel objects, engines, registry and record."""

    def __init__(self, name: str = "lab", settings: LabSettings | None = None) -> None:
        self.settings = settings or LabSettings()
        self.names = LabNames(name, self.settings)

    @property
    def name(self) -> str:
        """The lab's name."""
        return self.names.name

    # ----------------------------------------------------------------- record
    def record(self) -> LabRecord | None:
        """The lab's record if ``up`` finished, else None."""
        try:
            return LabRecord.model_validate_json(self.names.record_path.read_text())
        except (OSError, ValueError):
            return None

    def require_record(self) -> LabRecord:
        """The lab's record, or a NotFoundError that says how to create the lab."""
        record = self.record()
        if record is None:
            raise NotFoundError(
                f"lab {self.name!r} is not running",
                hint=f"start it with: fleetdeck lab up --name {self.name}",
            )
        return record

    def is_running(self) -> bool:
        """Whether the lab finished ``up`` and its bridge still exists (e.g. not rebooted)."""
        record = self.record()
        return record is not None and network.link_exists(record.bridge)

    def _other_labs_subnets(self) -> list[str]:
        subnets = []
        root = self.settings.state_root
        if root.exists():
            for path in root.glob("*/lab.json"):
                if path.parent.name == self.name:
                    continue
                with contextlib.suppress(OSError, ValueError):
                    subnets.append(LabRecord.model_validate_json(path.read_text()).subnet)
        return subnets

    # ----------------------------------------------------------------- up/down
    def up(
        self,
        nodes: int = 3,
        swarm: bool = False,
        managers: int = 1,
        subnet: str | None = None,
        server: bool = False,
        agent_mode: str = "process",
    ) -> tuple[LabRecord, bool]:
        """Create the lab, or report the running one unchanged.

        With ``server``, ``agent_mode`` says how the nodes' agents run: ``process`` (the
        checkout's code) or ``container`` (fleetdeck's agent image, built from the
        repository's files and pushed to the lab registry first: ~80 s the first time, a
        cached ``docker load`` after that).

        Returns:
            The lab's record and whether this call created it.

        Raises:
            ConflictError: the lab runs with another shape, or the address range is in use.
        """
        require_root()
        require_tools()
        if not 1 <= nodes <= MAX_NODES:
            from fleetdeck.errors import InvalidInputError

            raise InvalidInputError(f"--nodes must be between 1 and {MAX_NODES}, not {nodes}")
        if swarm and not 1 <= managers <= nodes:
            from fleetdeck.errors import InvalidInputError

            raise InvalidInputError(f"--managers must be between 1 and {nodes}, not {managers}")
        from fleetdeck.lab.fleet_server import AGENT_MODES

        if agent_mode not in AGENT_MODES:
            from fleetdeck.errors import InvalidInputError

            raise InvalidInputError(
                f"--agent-mode must be one of {', '.join(AGENT_MODES)}, not {agent_mode!r}"
            )
        existing = self.record()
        if existing is not None and network.link_exists(existing.bridge):
            if (
                len(existing.nodes) != nodes
                or existing.swarm.enabled != swarm
                or (existing.server is not None) != server
                or (server and existing.agent_mode != agent_mode)
            ):
                raise ConflictError(
                    f"lab {self.name!r} is already running with {len(existing.nodes)} nodes"
                    f"{' in a swarm' if existing.swarm.enabled else ''}"
                    f"{' with a server' if existing.server else ''}"
                    f"{' and agent containers' if existing.agent_mode == 'container' else ''}",
                    hint=f"remove it first with: fleetdeck lab down --name {self.name}",
                )
            return existing, False
        # A record without its bridge, or leftovers of a crashed up: start from clean.
        cleanup.remove_everything(self.names)
        try:
            return self._create(nodes, swarm, managers, subnet, server, agent_mode), True
        except BaseException:
            cleanup.remove_everything(self.names)
            raise

    def _create(
        self,
        count: int,
        swarm: bool,
        managers: int,
        subnet: str | None,
        server: bool,
        agent_mode: str,
    ) -> LabRecord:
        names = self.names
        # Labs brought up side by side (parallel test workers) each pick a free range and
        # claim it with their bridge's address: one at a time, or two could pick the same.
        with self._allocation_lock():
            net = network.allocate_subnet(names, self._other_labs_subnets(), subnet)
            gateway, ips = node_addresses(net, count)
            network.create_bridge(names, gateway, net.prefixlen)
        names.state_dir.mkdir(parents=True, exist_ok=True)
        names.run_dir.mkdir(parents=True, exist_ok=True)
        registry = f"{gateway}:{REGISTRY_PORT}"
        nodes = [self._node_record(i + 1, ip) for i, ip in enumerate(ips)]
        for node in nodes:
            network.create_node_netns(names, node.index, node.name, node.ip, net.prefixlen)
        start_registry(names, registry)
        for node in nodes:
            engine.start_engine(node, registry)
        wait_registry_ready(names, registry)
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            list(pool.map(engine.wait_engine_ready, nodes))
        images = build_seed_images(nodes[0], registry, names.state_dir)
        swarm_record = form_swarm(nodes, managers) if swarm else SwarmRecord()
        server_record = None
        if server:
            from fleetdeck.lab import fleet_server

            server_record = fleet_server.start_server(names, gateway)
            agent_image = None
            if agent_mode == "container":
                from fleetdeck.lab.product_images import build_product_images, pull_everywhere

                built = build_product_images(nodes[0], registry)
                pull_everywhere(nodes[1:], built.agent)
                images.update(fleetdeck_server=built.server, fleetdeck_agent=built.agent)
                agent_image = built.agent
            fleet_server.start_agents(names, nodes, server_record, swarm, agent_image)
        record = LabRecord(
            name=names.name,
            subnet=str(net),
            gateway=gateway,
            bridge=names.bridge,
            registry=registry,
            nodes=nodes,
            images=images,
            swarm=swarm_record,
            server=server_record,
            agent_mode=agent_mode if server else "process",
        )
        tmp = names.record_path.with_suffix(".tmp")
        tmp.write_text(record.model_dump_json(indent=2))
        tmp.replace(names.record_path)
        return record

    @contextlib.contextmanager
    def _allocation_lock(self) -> Iterator[None]:
        root = self.settings.state_root
        root.mkdir(parents=True, exist_ok=True)
        with (root / ".allocate.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _node_record(self, index: int, ip: str) -> NodeRecord:
        names = self.names
        node = f"node{index}"
        run_dir = names.run_dir / node
        state_dir = names.state_dir / node
        return NodeRecord(
            name=node,
            index=index,
            ip=ip,
            hostname=names.hostname(node),
            netns=names.netns(node),
            veth=names.veth_host(index),
            docker_host=f"unix://{run_dir}/docker.sock",
            data_root=str(state_dir / "docker"),
            exec_root=str(run_dir / "exec"),
            pidfile=str(run_dir / "docker.pid"),
            cgroup_parent=names.cgroup_parent(node),
            log_file=str(state_dir / "dockerd.log"),
        )

    def down(self) -> bool:
        """Remove everything the lab made; return whether there was anything to remove."""
        require_root()
        had_any = any(cleanup.leftovers(self.names).values())
        cleanup.remove_everything(self.names)
        return had_any

    # ----------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        """The lab as ``lab status -o json`` prints it (stable keys, see the README)."""
        record = self.record()
        if record is None:
            leftovers = {k: v for k, v in cleanup.leftovers(self.names).items() if v}
            return {
                "name": self.name,
                "state": "partial" if leftovers else "absent",
                "leftovers": leftovers,
            }
        running = network.link_exists(record.bridge)
        nodes = []
        for node in record.nodes:
            nodes.append(
                {
                    "name": node.name,
                    "ip": node.ip,
                    "hostname": node.hostname,
                    "docker_host": node.docker_host,
                    "engine": engine.engine_state(node) if running else "stopped",
                    "network": (
                        "connected"
                        if network.node_link_up(self.names, node.index)
                        else "partitioned"
                    )
                    if running
                    else "absent",
                    "netns": node.netns,
                }
            )
        return {
            "name": record.name,
            "state": "running" if running else "stale",
            "subnet": record.subnet,
            "gateway": record.gateway,
            "bridge": record.bridge,
            "registry": record.registry,
            "registry_state": "running"
            if running and registry_alive(record.registry)
            else "stopped",
            "nodes": nodes,
            "images": record.images,
            "swarm": self._swarm_status(record),
            "server": record.server.model_dump() if record.server else None,
            "agent_mode": record.agent_mode,
            "created_at": record.created_at.isoformat(),
        }

    def _swarm_status(self, record: LabRecord) -> dict[str, Any]:
        status: dict[str, Any] = record.swarm.model_dump()
        status["state"] = "inactive"
        if not record.swarm.enabled:
            return status
        for name in record.swarm.managers:
            node = record.node(name)
            try:
                info = engine.docker_api(engine.socket_path(node), "/info", timeout=3.0)
            except (httpx.HTTPError, OSError, ValueError):
                continue  # this manager does not answer: ask the next one
            swarm = info.get("Swarm", {})
            status["state"] = swarm.get("LocalNodeState", "unknown")
            status["nodes_total"] = swarm.get("Nodes")
            status["managers_total"] = swarm.get("Managers")
            break
        else:
            status["state"] = "unreachable"
        return status

    # ----------------------------------------------------------------- faults
    def partition(self, node_name: str) -> None:
        """Cut the node's link: it can reach nothing and nothing can reach it."""
        require_root()
        node = self.require_record().node(node_name)
        network.set_node_link(self.names, node.index, up=False)

    def heal(self, node_name: str) -> None:
        """Restore the node's link."""
        require_root()
        node = self.require_record().node(node_name)
        network.set_node_link(self.names, node.index, up=True)

    def stop_node(self, node_name: str) -> bool:
        """Stop the node's engine; return whether it was running."""
        require_root()
        return engine.stop_engine(self.require_record().node(node_name))

    def start_node(self, node_name: str) -> bool:
        """Start the node's engine and wait for it; return whether it was stopped."""
        require_root()
        record = self.require_record()
        node = record.node(node_name)
        was_stopped = engine.engine_pid(node) is None
        engine.start_engine(node, record.registry)
        engine.wait_engine_ready(node)
        return was_stopped

    def exec_argv(self, node_name: str, command: list[str]) -> tuple[list[str], dict[str, str]]:
        """The argv and environment that run ``command`` inside the node.

        The command runs in the node's network namespace (and its hostname, while its engine
        runs), with ``DOCKER_HOST`` pointing at the node's engine.
        """
        require_root()
        node = self.require_record().node(node_name)
        pid = engine.engine_pid(node)
        if pid is not None:
            argv = ["nsenter", f"--target={pid}", "--net", "--uts", "--", *command]
        else:
            argv = ["nsenter", f"--net=/run/netns/{node.netns}", "--", *command]
        env = {**os.environ, "DOCKER_HOST": node.docker_host}
        return argv, env

    def exec(self, node_name: str, command: list[str]) -> int:
        """Run ``command`` inside the node with the caller's terminal; return its exit code."""
        argv, env = self.exec_argv(node_name, command)
        return subprocess.run(argv, env=env, check=False).returncode

    def lab_subnet(self) -> ipaddress.IPv4Network | None:
        """The lab's subnet if it has a record."""
        record = self.record()
        return ipaddress.IPv4Network(record.subnet) if record else None
