"""How environments and nodes look through the API: store records plus live inventory."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fleetdeck.server.fleet.inventory import FleetInventory, NodeState, NodeStatus
from fleetdeck.wire.fleet import Environment, Node

if TYPE_CHECKING:
    from fleetdeck.server.fleet.records import EnvironmentRecord, NodeRecord


STATUS_ORDER = {
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
    )


def node_view(environment: str, node: NodeRecord, inventory: FleetInventory) -> Node:
    """The API view of a node: what the store knows, and what its link last reported."""
    state: NodeState | None = inventory.find_node(environment, node.name)
    info = state.info if state else None
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
    )
