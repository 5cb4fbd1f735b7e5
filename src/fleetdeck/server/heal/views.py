"""What the API, CLI and UI show of auto-heal: watched containers, Swarm churn, policy layers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fleetdeck.errors import InvalidInputError
from fleetdeck.labels import SWARM_TASK_ID
from fleetdeck.server.heal.decide import Phase, Track
from fleetdeck.server.heal.repository import API, DEFAULT
from fleetdeck.wire.heal import (
    HealContainer,
    HealPolicies,
    HealPolicy,
    HealPolicySettings,
    HealService,
    HealStatus,
)

if TYPE_CHECKING:
    from fleetdeck.server.fleet.inventory import NodeState
    from fleetdeck.server.heal.healer import Healer
    from fleetdeck.server.store.models_heal import HealPolicyLayer
    from fleetdeck.wire.containers import EngineContainer


def _time(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def container_view(
    healer: Healer, state: NodeState, container: EngineContainer, track: Track | None
) -> HealContainer:
    """One container as the healer sees it (its policy resolved now)."""
    try:
        policy, sources = healer.policy_for(container)
        problem = ""
    except InvalidInputError as exc:
        policy, sources, problem = healer.default_policy(), ["default"], exc.message
    now = healer.clock.time()
    track = track or Track(container.id, state.environment, state.node, container.name)
    phase, reason = track.phase, track.reason
    if problem:
        phase, reason = Phase.disabled, f"bad policy: {problem}"
    elif not policy.enabled and track.crash_looping_since is None:
        phase, reason = Phase.disabled, "no enabled policy"
    elif track.crash_looping_since is not None:
        phase = Phase.crash_looping
    return HealContainer(
        environment=state.environment, node=state.node, container=container.name,
        id=container.id, stack=container.stack, service=container.service,
        state=container.state, health=container.health, phase=phase.value, reason=reason,
        policy_sources=sources, policy=HealPolicySettings(**policy.settings()),
        restarts_in_window=len(track.in_window(policy.window, now)), streak=track.streak,
        last_restart_at=_time(track.last_restart), next_restart_at=_time(track.next_at),
        crash_looping_since=_time(track.crash_looping_since),
    )  # fmt: skip


def _watched(healer: Healer, container: EngineContainer) -> bool:
    if SWARM_TASK_ID in container.labels or container.health is None:
        return container.id in healer.tracks
    try:
        policy, _ = healer.policy_for(container)
    except InvalidInputError:
        return True  # shown, with why its policy is refused
    return policy.enabled or container.id in healer.tracks


def status(healer: Healer, environments: set[str] | None = None) -> HealStatus:
    """Every watched container (or with a track) and every Swarm service with churn."""
    containers = []
    for state in healer.fleet.inventory.nodes():
        if environments is not None and state.environment not in environments:
            continue
        for container in state.containers.values():
            if _watched(healer, container):
                track = healer.tracks.get(container.id)
                containers.append(container_view(healer, state, container, track))
    containers.sort(key=lambda c: (c.environment, c.node, c.container))
    services = [
        HealService(
            environment=c.environment,
            service=c.service,
            stack=c.stack,
            replacements_in_window=len(c.replacements),
            window=healer.churn.window,
            crash_looping=c.crash_looping,
            last_replacement_at=_time(max(c.replacements, default=None)),
        )  # fmt: skip
        for c in healer.churn.services.values()
        if environments is None or c.environment in environments
    ]
    return HealStatus(containers=containers, services=services)


def layer_out(row: HealPolicyLayer) -> HealPolicy:
    """The API view of a stored layer."""
    return HealPolicy(target=row.target, source=row.source, fields=dict(row.fields),
                      updated_at=row.updated_at)  # fmt: skip


def policies(healer: Healer, rows: list[HealPolicyLayer]) -> HealPolicies:
    """The effective default and every stored layer (the API's default layer first)."""
    rows = sorted(rows, key=lambda r: (r.target != DEFAULT or r.source != API, r.target, r.source))
    return HealPolicies(
        default=HealPolicySettings(**healer.default_policy().settings()),
        layers=[layer_out(r) for r in rows],
    )
