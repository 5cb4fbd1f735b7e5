"""What one sync sees of a scaled service: replicas, ready ones, and each one's metrics.

Everything comes from what the server already holds: the inventory (containers, their
state and health, kept live by each agent's event stream), the newest metrics of each node
(:class:`~fleetdeck.server.metrics.latest.LatestSamples`, only *fresh* figures) and, for a
Swarm service, its replica count from the manager. A node that is unreachable or whose
engine is down makes the observation *blocked*: nothing is scaled on missing data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck import labels
from fleetdeck.errors import FleetdeckError
from fleetdeck.server.fleet.inventory import NodeStatus
from fleetdeck.server.fleet.service import manager_of, pick_node_link
from fleetdeck.server.stacks.swarm.spec import scoped

if TYPE_CHECKING:
    from fleetdeck.server.autoscale.policy import Policy
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.metrics.latest import LatestSamples
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.wire.containers import EngineContainer

#: Per-container figures a policy can target, by metric name.
FIGURES = {"cpu": "cpu_percent", "memory": "memory_percent"}
#: Also read: the cores used, for a CPU % of a Swarm service's reservation.
_CORES = "cpu_cores"


@dataclass
class Observation:
    """One service as a sync sees it; ``blocked`` says why nothing may change now."""

    current: int = 0
    ready: int = 0
    #: metric → values of the ready replicas that have one.
    values: dict[str, list[float]] = field(default_factory=dict)
    #: metric → ready replicas without a value.
    missing: dict[str, int] = field(default_factory=dict)
    blocked: str | None = None
    #: Where the service runs (environment, and a Swarm service's scoped name).
    environment: str = ""
    swarm_name: str | None = None


def _ready(c: EngineContainer) -> bool:
    return c.state == "running" and c.health in (None, "healthy")


def _retired(c: EngineContainer) -> bool:
    """A replica a rolling update or scale renamed ``<id12>_NAME`` on its way out."""
    head, sep, _ = c.name.partition("_")
    return bool(sep) and len(head) == 12 and all(ch in "0123456789abcdef" for ch in head)


def _figures(
    latest: LatestSamples, environment: str, node: str, now: float
) -> dict[str, dict[str, float]]:
    """Container id (12) → {figure: value} of one node's fresh metrics."""
    out: dict[str, dict[str, float]] = {}
    for kind, cid, _, metric, _, value in latest.fresh_rows(environment, node, now):
        if kind == "container" and (metric in FIGURES.values() or metric == _CORES):
            out.setdefault(cid[:12], {})[metric] = value
    return out


def _collect(
    obs: Observation, policy: Policy, ready: list[tuple[EngineContainer, dict[str, float]]]
) -> None:
    for metric in ("cpu", "memory"):
        if getattr(policy, metric) is None:
            continue
        have = [f[FIGURES[metric]] for _, f in ready if FIGURES[metric] in f]
        obs.values[metric] = have
        obs.missing[metric] = len(ready) - len(have)


def reserved_cores(summary: dict[str, Any]) -> float | None:
    """A Swarm service's CPU reservation in cores when it has one and no CPU limit, else None.

    Swarm's ``--reserve-cpu`` (``deploy.resources.reservations.cpus``) only places tasks: no
    cgroup holds it, so the agent's ``cpu_percent`` of such a task is of the host's CPUs. The
    autoscaler measures it against the reservation instead (a limit, when set, wins).
    """
    template = (summary.get("Spec") or {}).get("TaskTemplate") or {}
    resources = template.get("Resources") or {}
    if ((resources.get("Limits") or {}).get("NanoCPUs") or 0) > 0:
        return None
    nano = (resources.get("Reservations") or {}).get("NanoCPUs") or 0
    return nano / 1e9 if isinstance(nano, int | float) and nano > 0 else None


def of_reservation(figures: dict[str, float], cores: float | None) -> dict[str, float]:
    """``figures`` with ``cpu_percent`` as % of ``cores`` reserved (unchanged without one)."""
    if cores is None or _CORES not in figures:
        return figures
    return {**figures, FIGURES["cpu"]: 100.0 * figures[_CORES] / cores}


def _node_down(status: NodeStatus) -> bool:
    return status in (NodeStatus.unreachable, NodeStatus.engine_down, NodeStatus.pending)


async def observe(
    policy: Policy, stacks: StackService, fleet: Fleet, latest: LatestSamples, now: float
) -> Observation:
    """The service of ``policy`` now (never raises for a fault: ``blocked`` says it)."""
    try:
        if policy.kind == "stack":
            stored = await stacks.repo.find(policy.scope)
            if stored is None:
                return Observation(blocked=f"no stack {policy.scope!r}")
            if stacks.lock(stored.name).locked():
                return Observation(blocked="a deploy or scale of the stack is in progress",
                                   environment=stored.environment)  # fmt: skip
            if stored.kind == "swarm":
                name = scoped(stored.name, policy.service)
                return await _swarm(policy, fleet, latest, stored.environment, name, now)
            return _host(policy, fleet, latest, stored.environment, stored.name, now)
        return await _swarm(policy, fleet, latest, policy.scope, policy.service, now)
    except FleetdeckError as exc:
        return Observation(blocked=exc.message)


def _host(policy: Policy, fleet: Fleet, latest: LatestSamples, environment: str, stack: str,
          now: float) -> Observation:  # fmt: skip
    link = pick_node_link(fleet, environment, None)
    state = fleet.inventory.find_node(environment, link.node)
    if state is None or _node_down(state.status):
        status = state.status.value if state is not None else "unknown"
        return Observation(blocked=f"node {link.node} is {status}: no change on missing data",
                           environment=environment)  # fmt: skip
    mine = [
        c for c in state.containers.values()
        if c.labels.get(labels.COMPOSE_PROJECT) == stack
        and c.labels.get(labels.COMPOSE_SERVICE) == policy.service and not _retired(c)
    ]  # fmt: skip
    figures = _figures(latest, environment, link.node, now)
    ready = [(c, figures.get(c.id[:12], {})) for c in mine if _ready(c)]
    obs = Observation(current=len(mine), ready=len(ready), environment=environment)
    _collect(obs, policy, ready)
    return obs


async def _swarm(policy: Policy, fleet: Fleet, latest: LatestSamples, environment: str,
                 name: str, now: float) -> Observation:  # fmt: skip
    link = manager_of(fleet, environment)
    summary: dict[str, Any] = await link.agent.swarm_service(name)
    if summary.get("mode") != "replicated":
        return Observation(blocked=f"service {name} is not replicated", environment=environment)
    current = int(summary.get("replicas") or 0)
    reserved = reserved_cores(summary)
    ready: list[tuple[EngineContainer, dict[str, float]]] = []
    down: list[str] = []
    for state in fleet.inventory.nodes(environment):
        if _node_down(state.status):
            down.append(state.node)
            continue
        figures = _figures(latest, environment, state.node, now)
        for c in state.containers.values():
            if c.labels.get(labels.SWARM_SERVICE) == name and _ready(c):
                ready.append((c, of_reservation(figures.get(c.id[:12], {}), reserved)))
    obs = Observation(current=current, ready=min(len(ready), current), environment=environment,
                      swarm_name=name)  # fmt: skip
    if down:
        obs.blocked = f"node(s) {', '.join(sorted(down))} down: no change on missing data"
        return obs
    _collect(obs, policy, ready)
    return obs
