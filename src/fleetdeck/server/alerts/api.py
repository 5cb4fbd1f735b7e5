"""``/alerts`` (list, show, acknowledge) and ``/rules`` (CRUD, enable, disable).

Viewers read; operators acknowledge alerts and manage rules. A rule is checked whole before
anything is stored (:func:`~fleetdeck.server.alerts.rules.validate_rule`); built-in rules
can be changed and disabled but not deleted or renamed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import func, select

from fleetdeck.errors import ConflictError, InvalidInputError, NotFoundError
from fleetdeck.server.alerts.rules import RuleOut, RuleSpec, rule_out, spec_of, validate_rule
from fleetdeck.server.alerts.state import AlertState
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Operator, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.params import Offset  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.store.models_alerts import Alert, AlertRule, NotificationChannel

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(tags=["alerts"])


class AlertOut(BaseModel):
    """An alert as the API serves it."""

    id: str
    rule: str
    severity: str
    state: str
    labels: dict[str, Any]
    summary: str
    value: float | None
    started_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    notified: str
    last_notified_at: datetime | None
    suppressed: str | None
    acked_by: str | None
    acked_at: datetime | None


class AlertPage(BaseModel):
    """``GET /alerts``."""

    items: list[AlertOut]
    total: int


def alert_out(row: Alert) -> AlertOut:
    """The API view of an alert row."""
    return AlertOut.model_validate(row, from_attributes=True)


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
    states = {"active": [AlertState.pending, AlertState.firing]}.get(state or "", None)
    if state and states is None:
        if state not in AlertState.__members__:
            raise InvalidInputError(
                f"bad state {state!r}", hint="pending, firing, resolved or active"
            )
        states = [AlertState(state)]
    stmt = select(Alert)
    if states:
        stmt = stmt.where(Alert.state.in_([s.value for s in states]))
    if rule:
        stmt = stmt.where(Alert.rule == rule)
    async with request.app.state.store.session() as session:
        rows = (await session.scalars(stmt.order_by(Alert.started_at.desc()))).all()
    if environment:
        rows = [r for r in rows if (r.labels or {}).get("environment") == environment]
    return AlertPage(items=[alert_out(r) for r in rows[offset : offset + limit]], total=len(rows))


async def _alert(session: AsyncSession, alert_id: str) -> Alert:
    row = await session.get(Alert, alert_id)
    if row is None:
        raise NotFoundError(f"no alert {alert_id!r}", hint="list them with: fleetdeck alerts")
    return row


@router.get("/alerts/{alert_id}")
async def get_alert(alert_id: str, request: Request, who: Viewer) -> AlertOut:
    """One alert."""
    async with request.app.state.store.session() as session:
        return alert_out(await _alert(session, alert_id))


@router.post("/alerts/{alert_id}/ack")
async def ack_alert(alert_id: str, request: Request, who: Operator) -> AlertOut:
    """Acknowledge an alert: someone is on it, so it is not sent again while it fires."""
    async with audited(request, who.username, "alert.ack", alert_id):
        async with request.app.state.store.transaction() as session:
            row = await _alert(session, alert_id)
            row.acked_by, row.acked_at = who.username, datetime.now(UTC)
    return alert_out(row)


# ---------------------------------------------------------------- rules
async def _rule(session: AsyncSession, name: str) -> AlertRule:
    row = await session.scalar(select(AlertRule).where(AlertRule.name == name))
    if row is None:
        raise NotFoundError(f"no rule {name!r}", hint="list them with: fleetdeck rules ls")
    return row


async def _checked(request: Request, session: AsyncSession, spec: RuleSpec) -> dict[str, Any]:
    fleet = getattr(request.app.state, "fleet", None)
    environments = fleet.environment_names() if fleet is not None else set()
    channels = set((await session.scalars(select(NotificationChannel.name))).all())
    return validate_rule(spec, environments, channels)


@router.get("/rules")
async def list_rules(request: Request, who: Viewer) -> list[RuleOut]:
    """Every rule, built-in ones first."""
    async with request.app.state.store.session() as session:
        rows = (await session.scalars(select(AlertRule))).all()
    return [rule_out(r) for r in sorted(rows, key=lambda r: (not r.builtin, r.name))]


@router.get("/rules/{name}")
async def get_rule(name: str, request: Request, who: Viewer) -> RuleOut:
    """One rule."""
    async with request.app.state.store.session() as session:
        return rule_out(await _rule(session, name))


@router.post("/rules", status_code=201)
async def create_rule(body: RuleSpec, request: Request, who: Operator) -> RuleOut:
    """Add a rule (checked whole first: unknown metric, bad operator, duration, scope…)."""
    async with audited(request, who.username, "rule.create", body.name):
        async with request.app.state.store.transaction() as session:
            values = await _checked(request, session, body)
            exists = await session.scalar(select(func.count()).where(AlertRule.name == body.name))
            if exists:
                raise ConflictError(f"rule {body.name!r} exists already")
            row = AlertRule(**values, builtin=False)
            session.add(row)
    request.app.state.alerts.evaluator.wake()
    return rule_out(row)


@router.patch("/rules/{name}")
async def update_rule(name: str, body: dict[str, Any], request: Request, who: Operator) -> RuleOut:
    """Change some fields of a rule (same keys as ``POST /rules``; name and condition stay)."""
    async with audited(request, who.username, "rule.update", name, {"fields": sorted(body)}):
        async with request.app.state.store.transaction() as session:
            row = await _rule(session, name)
            for fixed in ("name", "condition"):
                if fixed in body and body[fixed] != getattr(row, fixed):
                    raise InvalidInputError(
                        f"a rule's {fixed} cannot change", hint="add a new rule"
                    )
            merged = spec_of(row).model_dump(by_alias=True) | body
            try:
                spec = RuleSpec.model_validate(merged)
            except ValueError as exc:
                raise InvalidInputError(f"invalid rule change: {exc}") from None
            values = await _checked(request, session, spec)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = datetime.now(UTC)
    request.app.state.alerts.evaluator.wake()
    return rule_out(row)


async def _set_enabled(request: Request, name: str, who: str, enabled: bool) -> RuleOut:
    action = "rule.enable" if enabled else "rule.disable"
    async with audited(request, who, action, name):
        async with request.app.state.store.transaction() as session:
            row = await _rule(session, name)
            row.enabled, row.updated_at = enabled, datetime.now(UTC)
    request.app.state.alerts.evaluator.wake()
    return rule_out(row)


@router.post("/rules/{name}/enable")
async def enable_rule(name: str, request: Request, who: Operator) -> RuleOut:
    """Turn a rule on."""
    return await _set_enabled(request, name, who.username, True)


@router.post("/rules/{name}/disable")
async def disable_rule(name: str, request: Request, who: Operator) -> RuleOut:
    """Turn a rule off (its alerts resolve)."""
    return await _set_enabled(request, name, who.username, False)


@router.delete("/rules/{name}")
async def delete_rule(name: str, request: Request, who: Operator) -> dict[str, bool]:
    """Delete a user rule (built-in rules are disabled instead); its alerts resolve."""
    async with audited(request, who.username, "rule.delete", name):
        async with request.app.state.store.transaction() as session:
            row = await _rule(session, name)
            if row.builtin:
                raise ConflictError(
                    f"{name!r} is a built-in rule",
                    hint=f"disable it: fleetdeck rules disable {name}",
                )
            await session.delete(row)
    request.app.state.alerts.evaluator.wake()
    return {"ok": True}
