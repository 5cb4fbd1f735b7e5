"""``/silences`` and ``/maintenance``: holding notifications back for a while (operators).

Both take ``starts_at`` (default now) and either ``ends_at`` or ``duration`` (``2h``).
Deleting one ends it now; expired ones stay listed (state ``expired``) until the alert
history is pruned.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from fleetdeck.durations import parse_seconds
from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.server.alerts.silences import parse_matchers
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Operator, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.store.models_alerts import AlertSilence, MaintenanceWindow
from fleetdeck.wire.base import RequestBody

router = APIRouter(tags=["alerts"])
T = TypeVar("T", AlertSilence, MaintenanceWindow)


class _Period(RequestBody):
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration: str | float | None = None


class SilenceCreate(_Period):
    """``POST /silences``."""

    matchers: list[str]
    comment: str = Field(default="", max_length=2000)


class MaintenanceCreate(_Period):
    """``POST /maintenance``."""

    environment: str
    reason: str = Field(default="", max_length=2000)


class SilenceOut(BaseModel):
    """A silence as the API serves it."""

    id: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    state: str


class MaintenanceOut(BaseModel):
    """A maintenance window as the API serves it."""

    id: str
    environment: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime
    state: str


def _state(starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    return "expired" if ends_at <= now else "pending" if starts_at > now else "active"


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInputError(f"{name} needs a time zone", hint="e.g. 2026-01-02T03:04:05Z")
    return value.astimezone(UTC)


def period(body: _Period, now: datetime) -> tuple[datetime, datetime]:
    """The (start, end) a request asks for, from ``now`` unless it says; else InvalidInputError."""
    starts = _aware(body.starts_at, "starts_at") or now
    ends = _aware(body.ends_at, "ends_at")
    if (ends is None) == (body.duration is None):
        raise InvalidInputError("give either ends_at or duration", hint="e.g. duration: 2h")
    if ends is None:
        ends = starts + timedelta(seconds=parse_seconds(body.duration, "duration") or 0)
    if ends <= starts:
        raise InvalidInputError("the end must be after the start")
    return starts, ends


def silence_out(row: AlertSilence, now: datetime) -> SilenceOut:
    """The API view of a silence."""
    return SilenceOut(
        id=row.id, matchers=row.matchers, starts_at=row.starts_at, ends_at=row.ends_at,
        comment=row.comment, created_by=row.created_by, created_at=row.created_at,
        state=_state(row.starts_at, row.ends_at, now),
    )  # fmt: skip


def maintenance_out(row: MaintenanceWindow, now: datetime) -> MaintenanceOut:
    """The API view of a maintenance window."""
    return MaintenanceOut(
        id=row.id, environment=row.environment, starts_at=row.starts_at, ends_at=row.ends_at,
        reason=row.reason, created_by=row.created_by, created_at=row.created_at,
        state=_state(row.starts_at, row.ends_at, now),
    )  # fmt: skip


@router.get("/silences")
async def list_silences(request: Request, who: Viewer) -> list[SilenceOut]:
    """Silences, newest first (active, pending and expired)."""
    async with request.app.state.store.session() as session:
        rows = (
            await session.scalars(select(AlertSilence).order_by(AlertSilence.created_at.desc()))
        ).all()
    return [silence_out(r, _now(request)) for r in rows]


@router.post("/silences", status_code=201)
async def create_silence(body: SilenceCreate, request: Request, who: Operator) -> SilenceOut:
    """Hold back notifications of alerts that match every matcher, for a while."""
    detail = {"matchers": body.matchers}
    async with audited(request, who.username, "silence.create", ",".join(body.matchers), detail):
        matchers = parse_matchers(body.matchers)
        starts, ends = period(body, _now(request))
        async with request.app.state.store.transaction() as session:
            row = AlertSilence(matchers=matchers, starts_at=starts, ends_at=ends,
                               comment=body.comment, created_by=who.username)  # fmt: skip
            session.add(row)
    request.app.state.alerts.evaluator.wake()
    return silence_out(row, _now(request))


def _end(row: T | None, what: str, key: str, now: datetime) -> T:
    """End ``row`` now (a pending one ends before it starts); NotFoundError if it is None."""
    if row is None:
        raise NotFoundError(f"no {what} {key!r}")
    if row.ends_at > now:
        row.ends_at = max(now, row.starts_at)
    return row


@router.delete("/silences/{silence_id}")
async def expire_silence(silence_id: str, request: Request, who: Operator) -> SilenceOut:
    """End a silence now."""
    async with audited(request, who.username, "silence.expire", silence_id):
        async with request.app.state.store.transaction() as session:
            row = _end(
                await session.get(AlertSilence, silence_id), "silence", silence_id, _now(request)
            )
    request.app.state.alerts.evaluator.wake()
    return silence_out(row, _now(request))


@router.get("/maintenance")
async def list_maintenance(request: Request, who: Viewer) -> list[MaintenanceOut]:
    """Maintenance windows, newest first."""
    async with request.app.state.store.session() as session:
        rows = (
            await session.scalars(
                select(MaintenanceWindow).order_by(MaintenanceWindow.created_at.desc())
            )
        ).all()
    return [maintenance_out(r, _now(request)) for r in rows]


@router.post("/maintenance", status_code=201)
async def create_maintenance(
    body: MaintenanceCreate, request: Request, who: Operator
) -> MaintenanceOut:
    """Put an environment under maintenance: its alerts notify nobody until the end."""
    async with audited(request, who.username, "maintenance.create", body.environment):
        fleet = getattr(request.app.state, "fleet", None)
        if fleet is not None and body.environment not in fleet.environment_names():
            raise InvalidInputError(
                f"unknown environment {body.environment!r}", hint="list them with: fleetdeck env ls"
            )
        starts, ends = period(body, _now(request))
        async with request.app.state.store.transaction() as session:
            row = MaintenanceWindow(environment=body.environment, starts_at=starts, ends_at=ends,
                                    reason=body.reason, created_by=who.username)  # fmt: skip
            session.add(row)
    request.app.state.alerts.evaluator.wake()
    return maintenance_out(row, _now(request))


@router.delete("/maintenance/{window_id}")
async def end_maintenance(window_id: str, request: Request, who: Operator) -> MaintenanceOut:
    """End a maintenance window now."""
    async with audited(request, who.username, "maintenance.end", window_id):
        async with request.app.state.store.transaction() as session:
            found = await session.get(MaintenanceWindow, window_id)
            row = _end(found, "maintenance window", window_id, _now(request))
    request.app.state.alerts.evaluator.wake()
    return maintenance_out(row, _now(request))
