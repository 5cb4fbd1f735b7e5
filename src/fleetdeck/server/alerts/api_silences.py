"""``/silences`` and ``/maintenance``: holding notifications back for a while (operators).

Both take ``starts_at`` (default now) and either ``ends_at`` or ``duration`` (``2h``).
Deleting one ends it now; expired ones stay listed (state ``expired``) until the alert
history is pruned.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - pydantic reads annotations at run time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from pydantic import Field

from fleetdeck.server.alerts.service_silences import Asked, state_of
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Operator, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.wire.alerts import MaintenanceWindow, Silence
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fleetdeck.server.alerts.service_silences import SilenceService
    from fleetdeck.server.store.models_alerts import AlertSilence
    from fleetdeck.server.store.models_alerts import MaintenanceWindow as WindowRow

router = APIRouter(tags=["alerts"])


class _Period(RequestBody):
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration: str | float | None = None

    def asked(self) -> Asked:
        """The time the request asks for (checked by the service)."""
        return self.starts_at, self.ends_at, self.duration


class SilenceCreate(_Period):
    """``POST /silences``."""

    matchers: list[str]
    comment: str = Field(default="", max_length=2000)


class MaintenanceCreate(_Period):
    """``POST /maintenance``."""

    environment: str
    reason: str = Field(default="", max_length=2000)


def silences_of(request: Request) -> SilenceService:
    """The silences-and-maintenance service."""
    service: SilenceService = context_of(request).alerts.silences
    return service


def _now(request: Request) -> datetime:
    now: datetime = context_of(request).clock.now()
    return now


def silence_out(row: AlertSilence, now: datetime) -> Silence:
    """The API view of a silence."""
    return Silence(
        id=row.id, matchers=row.matchers, starts_at=row.starts_at, ends_at=row.ends_at,
        comment=row.comment, created_by=row.created_by, created_at=row.created_at,
        state=state_of(row.starts_at, row.ends_at, now),
    )  # fmt: skip


def maintenance_out(row: WindowRow, now: datetime) -> MaintenanceWindow:
    """The API view of a maintenance window."""
    return MaintenanceWindow(
        id=row.id, environment=row.environment, starts_at=row.starts_at, ends_at=row.ends_at,
        reason=row.reason, created_by=row.created_by, created_at=row.created_at,
        state=state_of(row.starts_at, row.ends_at, now),
    )  # fmt: skip


@router.get("/silences")
async def list_silences(request: Request, who: Viewer) -> list[Silence]:
    """Silences, newest first (active, pending and expired)."""
    rows = await silences_of(request).silences()
    return [silence_out(r, _now(request)) for r in rows]


@router.post("/silences", status_code=201)
async def create_silence(body: SilenceCreate, request: Request, who: Operator) -> Silence:
    """Hold back notifications of alerts that match every matcher, for a while."""
    detail = {"matchers": body.matchers}
    async with audited(request, who.username, "silence.create", ",".join(body.matchers), detail):
        row = await silences_of(request).create_silence(
            body.matchers, body.comment, who.username, body.asked()
        )
    return silence_out(row, _now(request))


@router.delete("/silences/{silence_id}")
async def expire_silence(silence_id: str, request: Request, who: Operator) -> Silence:
    """End a silence now."""
    async with audited(request, who.username, "silence.expire", silence_id):
        row = await silences_of(request).expire_silence(silence_id)
    return silence_out(row, _now(request))


@router.get("/maintenance")
async def list_maintenance(request: Request, who: Viewer) -> list[MaintenanceWindow]:
    """Maintenance windows, newest first."""
    rows = await silences_of(request).maintenance()
    return [maintenance_out(r, _now(request)) for r in rows]


@router.post("/maintenance", status_code=201)
async def create_maintenance(
    body: MaintenanceCreate, request: Request, who: Operator
) -> MaintenanceWindow:
    """Put an environment under maintenance: its alerts notify nobody until the end."""
    async with audited(request, who.username, "maintenance.create", body.environment):
        row = await silences_of(request).create_maintenance(
            body.environment, body.reason, who.username, body.asked()
        )
    return maintenance_out(row, _now(request))


@router.delete("/maintenance/{window_id}")
async def end_maintenance(window_id: str, request: Request, who: Operator) -> MaintenanceWindow:
    """End a maintenance window now."""
    async with audited(request, who.username, "maintenance.end", window_id):
        row = await silences_of(request).end_maintenance(window_id)
    return maintenance_out(row, _now(request))
