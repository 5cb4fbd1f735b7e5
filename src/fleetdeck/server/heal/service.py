"""``ServerContext.heal``: the auto-heal part's interface for its routes, the CLI and the UI."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.heal import views
from fleetdeck.server.heal.policy import check_layer, combine
from fleetdeck.server.heal.repository import API, DEFAULT
from fleetdeck.server.stacks.files import check_stack_name

if TYPE_CHECKING:
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.heal.healer import Healer
    from fleetdeck.server.heal.repository import HealRepository
    from fleetdeck.server.store.models import AuditEntry
    from fleetdeck.wire.heal import HealContainer, HealPolicies, HealPolicy, HealStatus

_SERVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
HISTORY_PREFIX = "heal."


def check_target(target: str) -> str:
    """``default``, ``STACK`` or ``STACK/SERVICE``, else InvalidInputError."""
    target = target.strip().strip("/")
    if target == DEFAULT:
        return target
    stack, sep, service = target.partition("/")
    check_stack_name(stack)
    if sep and not _SERVICE_RE.match(service):
        raise InvalidInputError(
            f"bad service name {service!r} in {target!r}",
            hint="use default, STACK or STACK/SERVICE",
        )
    return target


class HealService:
    """Status, policy layers, resets and history of auto-heal.

    Args:
        healer: The reconciler (its tracks and layers are what is shown).
        repo: The auto-heal tables.
        fleet: Resolves container references.
        audit: The history (``heal.*`` entries).
    """

    def __init__(self, healer: Healer, repo: HealRepository, fleet: Fleet, audit: AuditLog) -> None:
        self.healer = healer
        self.repo = repo
        self.fleet = fleet
        self.audit = audit

    def status(self) -> HealStatus:
        """Every watched container and every Swarm service with churn."""
        return views.status(self.healer)

    async def policies(self) -> HealPolicies:
        """The effective default and every stored layer."""
        return views.policies(self.healer, await self.repo.layers())

    async def set_policy(self, target: str, body: dict[str, Any]) -> HealPolicy:
        """Store the API layer of ``target``; checked whole before anything is written."""
        target = check_target(target)
        fields = check_layer(body, target)
        if not fields:
            raise InvalidInputError(
                "the policy sets no field", hint="e.g. enabled: true, max_restarts: 3"
            )
        base = [] if target == DEFAULT else [self.healer.layers.get((DEFAULT, API), {})]
        combine([*base, fields])  # backoff above backoff_max is refused now, not at run time
        row = await self.repo.put_layer(target, API, fields)
        await self.healer.reload_layers()
        self.healer.loop.wake()
        return views.layer_out(row)

    async def delete_policy(self, target: str) -> HealPolicies:
        """Remove the API layer of ``target`` (Compose layers go with the file)."""
        target = check_target(target)
        await self.repo.delete_layer(target, API)
        await self.healer.reload_layers()
        self.healer.loop.wake()
        return await self.policies()

    async def reset(self, ref: str) -> HealContainer:
        """Reset a container: no crash loop, no counted restarts; healing resumes."""
        container = self.fleet.resolve(ref)
        state = self.fleet.inventory.node(container.environment, container.node)
        engine = state.containers.get(container.id)
        if engine is None:  # resolved from the same inventory: only a race gets here
            raise InvalidInputError(f"{ref!r} is gone")
        track = await self.healer.reset(engine, container.environment, container.node)
        return views.container_view(self.healer, state, engine, track)

    async def history(
        self, limit: int, offset: int, target: str | None
    ) -> tuple[list[AuditEntry], int]:
        """The healer's actions and people's heal changes (audit ``heal.*``), newest first."""
        return await self.audit.list(
            limit=limit, offset=offset, action=HISTORY_PREFIX, target=target
        )
