"""``/alerts`` (list, show, acknowledge) and ``/rules`` (CRUD, enable, disable).

Viewers read; operators acknowledge alerts and manage rules. The handlers are thin: the
rules of a change are :class:`~fleetdeck.server.alerts.service_rules.RuleService`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request

from fleetdeck.server.alerts.rules import RuleSpec, rule_out
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Operator, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.server.params import Offset  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.wire.alerts import Alert, AlertPage, Rule

if TYPE_CHECKING:
    from fleetdeck.server.alerts.service_rules import RuleService
    from fleetdeck.server.store.models_alerts import Alert as AlertRow

router = APIRouter(tags=["alerts"])


def alert_out(row: AlertRow) -> Alert:
    """The API view of an alert row."""
    return Alert.model_validate(row, from_attributes=True)


def rules_of(request: Request) -> RuleService:
    """The alerts-and-rules service."""
    service: RuleService = context_of(request).alerts.rules
    return service


@router.get("/alerts")
async def list_alerts(
    request: Request,
    who: Viewer,
    state: Annotated[str | None, Query(description="pending, firing, resolved or active")] = None,
    rule: str | None = None,
    environment: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Offset = 0,
) -> AlertPage:
    """Alerts, newest first; ``state=active`` is pending and firing ones."""
    rows = await rules_of(request).alerts(state, rule, environment)
    return AlertPage(items=[alert_out(r) for r in rows[offset : offset + limit]], total=len(rows))


@router.get("/alerts/{alert_id}")
async def get_alert(alert_id: str, request: Request, who: Viewer) -> Alert:
    """One alert."""
    return alert_out(await rules_of(request).alert(alert_id))


@router.post("/alerts/{alert_id}/ack")
async def ack_alert(alert_id: str, request: Request, who: Operator) -> Alert:
    """Acknowledge an alert: someone is on it, so it is not sent again while it fires."""
    async with audited(request, who.username, "alert.ack", alert_id):
        row = await rules_of(request).ack(alert_id, who.username)
    return alert_out(row)


# ---------------------------------------------------------------- rules
@router.get("/rules")
async def list_rules(request: Request, who: Viewer) -> list[Rule]:
    """Every rule, built-in ones first."""
    return [rule_out(r) for r in await rules_of(request).rules()]


@router.get("/rules/{name}")
async def get_rule(name: str, request: Request, who: Viewer) -> Rule:
    """One rule."""
    return rule_out(await rules_of(request).rule(name))


@router.post("/rules", status_code=201)
async def create_rule(body: RuleSpec, request: Request, who: Operator) -> Rule:
    """Add a rule (checked whole first: unknown metric, bad operator, duration, scope…)."""
    async with audited(request, who.username, "rule.create", body.name):
        row = await rules_of(request).create(body)
    return rule_out(row)


@router.patch("/rules/{name}")
async def update_rule(name: str, body: dict[str, Any], request: Request, who: Operator) -> Rule:
    """Change some fields of a rule (same keys as ``POST /rules``; name and condition stay)."""
    async with audited(request, who.username, "rule.update", name, {"fields": sorted(body)}):
        row = await rules_of(request).update(name, body)
    return rule_out(row)


async def _set_enabled(request: Request, name: str, who: str, enabled: bool) -> Rule:
    action = "rule.enable" if enabled else "rule.disable"
    async with audited(request, who, action, name):
        row = await rules_of(request).set_enabled(name, enabled)
    return rule_out(row)


@router.post("/rules/{name}/enable")
async def enable_rule(name: str, request: Request, who: Operator) -> Rule:
    """Turn a rule on."""
    return await _set_enabled(request, name, who.username, True)


@router.post("/rules/{name}/disable")
async def disable_rule(name: str, request: Request, who: Operator) -> Rule:
    """Turn a rule off (its alerts resolve)."""
    return await _set_enabled(request, name, who.username, False)


@router.delete("/rules/{name}")
async def delete_rule(name: str, request: Request, who: Operator) -> dict[str, bool]:
    """Delete a user rule (built-in rules are disabled instead); its alerts resolve."""
    async with audited(request, who.username, "rule.delete", name):
        await rules_of(request).delete(name)
    return {"ok": True}
