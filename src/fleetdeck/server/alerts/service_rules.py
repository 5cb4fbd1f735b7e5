"""Alerts (list, acknowledge) and rules (CRUD, enable, disable): the rules of the change.

A rule is checked whole before anything is stored
(:func:`~fleetdeck.server.alerts.rules.validate_rule`); built-in rules can be changed and
disabled but not deleted or renamed. Every change wakes the evaluator, so it counts at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import ConflictError, InvalidInputError
from fleetdeck.server.alerts.rules import RuleSpec, spec_of, validate_rule
from fleetdeck.server.alerts.state import AlertState

if TYPE_CHECKING:
    from collections.abc import Callable

    from fleetdeck.server.alerts.repository import AlertRepository
    from fleetdeck.server.store.models_alerts import Alert, AlertRule

#: What ``state=`` may say besides an :class:`AlertState`: pending and firing ones.
ACTIVE = "active"


def states_of(state: str | None) -> list[str] | None:
    """The alert states ``state=`` asks for (None: every state); InvalidInputError if unknown."""
    if not state:
        return None
    if state == ACTIVE:
        return [AlertState.pending.value, AlertState.firing.value]
    if state not in AlertState.__members__:
        raise InvalidInputError(f"bad state {state!r}", hint="pending, firing, resolved or active")
    return [AlertState(state).value]


class RuleService:
    """Alerts and rules over the store.

    Args:
        repo: The alerting tables.
        environments: The fleet's environment names (None: no fleet, nothing to check).
        wake: Wakes the evaluator after a change.
    """

    def __init__(
        self,
        repo: AlertRepository,
        environments: Callable[[], set[str]] | None,
        wake: Callable[[], None],
    ) -> None:
        self.repo = repo
        self._environments = environments
        self._wake = wake

    # ------------------------------------------------------------ alerts
    async def alerts(
        self, state: str | None, rule: str | None, environment: str | None
    ) -> list[Alert]:
        """Alerts, newest first; ``state=active`` is pending and firing ones."""
        rows = await self.repo.alerts(states_of(state), rule)
        if environment:
            rows = [r for r in rows if (r.labels or {}).get("environment") == environment]
        return rows

    async def alert(self, alert_id: str) -> Alert:
        """One alert."""
        return await self.repo.alert(alert_id)

    async def ack(self, alert_id: str, who: str) -> Alert:
        """Acknowledge an alert: someone is on it, so it is not sent again while it fires."""
        return await self.repo.ack(alert_id, who, datetime.now(UTC))

    # ------------------------------------------------------------- rules
    async def _checked(self, spec: RuleSpec) -> dict[str, Any]:
        environments = self._environments() if self._environments is not None else set()
        return validate_rule(spec, environments, await self.repo.channel_names())

    async def rules(self) -> list[AlertRule]:
        """Every rule, built-in ones first."""
        rows = await self.repo.rules()
        return sorted(rows, key=lambda r: (not r.builtin, r.name))

    async def rule(self, name: str) -> AlertRule:
        """One rule."""
        return await self.repo.rule(name)

    async def create(self, spec: RuleSpec) -> AlertRule:
        """Add a rule (checked whole first: unknown metric, bad operator, duration, scope…)."""
        row = await self.repo.add_rule(await self._checked(spec))
        self._wake()
        return row

    async def update(self, name: str, change: dict[str, Any]) -> AlertRule:
        """Change some fields of a rule (same keys as a new rule's; name and condition stay)."""
        row = await self.repo.rule(name)
        for fixed in ("name", "condition"):
            if fixed in change and change[fixed] != getattr(row, fixed):
                raise InvalidInputError(f"a rule's {fixed} cannot change", hint="add a new rule")
        merged = spec_of(row).model_dump(by_alias=True) | change
        try:
            spec = RuleSpec.model_validate(merged)
        except ValueError as exc:
            raise InvalidInputError(f"invalid rule change: {exc}") from None
        row = await self.repo.update_rule(name, await self._checked(spec), datetime.now(UTC))
        self._wake()
        return row

    async def set_enabled(self, name: str, enabled: bool) -> AlertRule:
        """Turn a rule on or off (a rule turned off resolves its alerts)."""
        row = await self.repo.update_rule(name, {"enabled": enabled}, datetime.now(UTC))
        self._wake()
        return row

    async def delete(self, name: str) -> None:
        """Delete a user rule (built-in rules are disabled instead); its alerts resolve."""
        row = await self.repo.rule(name)
        if row.builtin:
            raise ConflictError(
                f"{name!r} is a built-in rule", hint=f"disable it: fleetdeck rules disable {name}"
            )
        await self.repo.delete_rule(name)
        self._wake()
