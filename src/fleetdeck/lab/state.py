"""What a lab is made of, derived from its name, and the record of a running lab.

Every name a lab gives to a kernel object (namespace, bridge, veth, cgroup, iptables rule) is
derived from the lab's name alone, so that ``down`` can find and remove the leftovers of a lab
whose ``up`` crashed before it wrote its record.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    import ipaddress

LAB_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
REGISTRY_PORT = 5000


class LabSettings(BaseSettings):
    """Where labs keep their state and which addresses they may use (env ``FLEETDECK_LAB_*``)."""

    model_config = SettingsConfigDict(env_prefix="FLEETDECK_LAB_")

    #: Labs take one /24 each from this pool; never an address the lab did not create.
    subnet_pool: str = "10.213.0.0/16"
    #: Durable state: engine data roots, registry storage, the lab record.
    state_root: Path = Path("/var/lib/fleetdeck/labs")
    #: Runtime state: sockets and exec roots (kept short: unix socket paths are limited).
    run_root: Path = Path("/run/fdl")


def validate_lab_name(name: str) -> str:
    """Return ``name`` if it can name a lab, else raise :class:`InvalidInputError`."""
    if not LAB_NAME_RE.match(name):
        raise InvalidInputError(
            f"invalid lab name {name!r}",
            hint="use 1-20 characters: lower-case letters, digits and '-', starting with a letter",
        )
    return name


class LabNames:
    """The kernel object names and paths of one lab, all derived from its name."""

    def __init__(self, name: str, settings: LabSettings) -> None:
        self.name = validate_lab_name(name)
        self.settings = settings
        self.short_id = hashlib.sha256(name.encode()).hexdigest()[:6]

    @property
    def bridge(self) -> str:
        """The lab's bridge in the root namespace (≤ 15 characters, as the kernel requires)."""
        return f"fdb{self.short_id}"

    def veth_host(self, index: int) -> str:
        """Host side of node ``index``'s veth pair, a port of the bridge."""
        return f"fdv{self.short_id}n{index}"

    def veth_peer(self, index: int) -> str:
        """Node side of the veth pair before it is moved into the namespace."""
        return f"fdp{self.short_id}n{index}"

    def netns(self, node: str) -> str:
        """The node's network namespace name (under /run/netns)."""
        return f"fdl-{self.name}-{node}"

    @property
    def netns_prefix(self) -> str:
        """Prefix shared by every namespace of this lab."""
        return f"fdl-{self.name}-"

    def cgroup_parent(self, node: str) -> str:
        """The cgroup under which the node's dockerd puts its containers."""
        return f"fdl-{self.name}-{node}"

    @property
    def iptables_comment(self) -> str:
        """Comment marking every iptables rule this lab inserts."""
        return f"fleetdeck-lab:{self.name}"

    @property
    def state_dir(self) -> Path:
        """Durable state of the lab."""
        return self.settings.state_root / self.name

    @property
    def run_dir(self) -> Path:
        """Sockets and exec roots of the lab."""
        return self.settings.run_root / self.name

    @property
    def record_path(self) -> Path:
        """The lab record (JSON)."""
        return self.state_dir / "lab.json"

    def hostname(self, node: str) -> str:
        """The hostname a node's engine reports."""
        return f"{self.name}-{node}"


class NodeRecord(BaseModel):
    """One node of a lab: a network namespace with its own address, hostname and dockerd."""

    name: str
    index: int
    ip: str
    hostname: str
    netns: str
    veth: str
    docker_host: str
    data_root: str
    exec_root: str
    pidfile: str
    cgroup_parent: str
    log_file: str


class SwarmRecord(BaseModel):
    """The Swarm formed across the lab's nodes, if any."""

    enabled: bool = False
    managers: list[str] = Field(default_factory=list)
    workers: list[str] = Field(default_factory=list)


class ServerRecord(BaseModel):
    """How to reach the lab's fleetdeck server (``lab status -o json`` → ``server``)."""

    url: str
    ca_cert: str
    token: str
    data_dir: str
    admin_user: str = "admin"
    admin_password: str


class LabRecord(BaseModel):
    """The persisted description of a lab, written once ``up`` has finished."""

    name: str
    subnet: str
    gateway: str
    bridge: str
    registry: str
    nodes: list[NodeRecord]
    images: dict[str, str] = Field(default_factory=dict)
    swarm: SwarmRecord = Field(default_factory=SwarmRecord)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    server: ServerRecord | None = None
    #: How the server's agents run: ``process`` or ``container`` (fleetdeck's agent image).
    agent_mode: str = "process"

    def node(self, name: str) -> NodeRecord:
        """Return the node called ``name``, or raise a NotFoundError listing the known nodes."""
        from fleetdeck.errors import NotFoundError

        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise NotFoundError(f"lab {self.name!r} has no node {name!r}", hint=f"nodes: {known}")


def node_addresses(subnet: ipaddress.IPv4Network, count: int) -> tuple[str, list[str]]:
    """Return the gateway address and ``count`` node addresses in ``subnet``.

    The gateway is the first host address; nodes start at .11 so that addresses are easy to
    read in ``lab status`` and stay clear of the gateway.
    """
    hosts = list(subnet.hosts())
    if count + 11 > len(hosts):
        raise InvalidInputError(f"{count} nodes do not fit in {subnet}")
    return str(hosts[0]), [str(hosts[10 + i]) for i in range(count)]
