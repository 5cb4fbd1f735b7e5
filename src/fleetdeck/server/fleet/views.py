"""How environments and nodes look through the API: store records plus live inventory."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fleetdeck import __version__
from fleetdeck.protocol import agent_protocol, is_outdated, version_key
from fleetdeck.server.fleet.inventory import FleetInventory, NodeState, NodeStatus
from fleetdeck.wire.fleet import Environment, Node

if TYPE_CHECKING:
    from fleetdeck.server.fleet.records import EnvironmentRecord, NodeRecord


STATUS_ORDER = {
    NodeStatus.incompatible: 4,
    NodeStatus.unreachable: 3,
    NodeStatus.engine_down: 2,
    NodeStatus.pending: 1,
    NodeStatus.up: 0,
}


def environment_view(env: EnvironmentRecord, inventory: FleetInventory) -> Environment:
    """The API view of an environment, with live node status (the worst of its nodes')."""
    nodes = [node_view(env.name, n, inventory) for n in env.nodes]
    statuses = [NodeStatus(n.status) for n in nodes]
    status = max(statuses, key=lambda s: STATUS_ORDER[s]) if statuses else NodeStatus.pending
    seen = [n.last_seen for n in nodes if n.last_seen]
    reported = [n for n in nodes if n.agent_protocol is not None]
    oldest = min(reported, key=_age, default=None)
    return Environment(
        name=env.name,
        kind=env.kind,
        docker_host=env.docker_host,
        tags=env.tags,
        groups=env.groups,
        status=status.value,
        last_seen=max(seen) if seen else None,
        created_at=env.created_at,
        nodes=nodes,
        agent_version=oldest.agent_version if oldest else None,
        agent_protocol=min(n.agent_protocol or 0 for n in reported) if reported else None,
        agent_outdated=any(n.agent_outdated for n in reported) if reported else None,
    )


def _age(node: Node) -> tuple[int, tuple[object, ...]]:
    """Sorts nodes oldest agent first: no or an unreadable version before any readable one."""
    key = version_key(node.agent_version) if node.agent_version else None
    return (0, ()) if key is None else (1, key)


def node_view(environment: str, node: NodeRecord, inventory: FleetInventory) -> Node:
    """The API view of a node: what the store knows, and what its link last reported."""
    state: NodeState | None = inventory.find_node(environment, node.name)
    info = state.info if state else None
    if info is not None:
        version, commit = info.agent_version, info.agent_commit
        protocol: int | None = agent_protocol(info.agent_protocol)
    else:  # not connected since the server started: what the agent last reported
        version, protocol, commit = node.agent_version, node.agent_protocol, node.agent_commit
    return Node(
        name=node.name,
        address=urlsplit(node.agent_url).hostname,
        hostname=info.hostname if info else node.hostname,
        status=(state.status if state else NodeStatus.pending).value,
        last_seen=state.last_seen if state else None,
        engine_version=info.engine_version if info else None,
        swarm_role=info.swarm.role if info else None,
        swarm_state=info.swarm.state if info else None,
        agent_url=node.agent_url,
        error=state.error if state else None,
        containers=len(state.containers) if state else 0,
        agent_version=version,
        agent_protocol=protocol,
        agent_commit=commit,
        agent_outdated=is_outdated(version, __version__) if protocol is not None else None,
    )
