"""The server's own state: liveness and background loops, the audit log, registries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from fleetdeck.wire.base import IsoDatetime


class LoopHealth(BaseModel):
    """One background loop (times are epoch seconds)."""

    name: str
    mode: str = Field(description="periodic (a step every interval) or body (long-running)")
    state: str = Field(description="running, backing-off, standby (not the leader) or stopped")
    interval_s: float
    runs: int = Field(description="steps that succeeded")
    restarts: int = Field(description="times the work raised and was run again")
    failures: int = Field(description="failures in a row now (0 when healthy)")
    last_ok: float | None
    last_error: str | None = Field(description="the last failure, one safe line")
    last_error_at: float | None
    next_run: float | None


class HealthDetails(BaseModel):
    """What a logged-in caller is told besides liveness."""

    loops: list[LoopHealth]


class Health(BaseModel):
    """The server's liveness."""

    status: str
    version: str | None = None
    details: HealthDetails | None = Field(
        default=None, description="only for an authenticated caller"
    )


class AuditEntry(BaseModel):
    """Who did what to what, when, and how it ended."""

    id: int | str
    #: As the server writes it, ``datetime.isoformat()``.
    time: IsoDatetime
    actor: str
    action: str
    target: str
    result: str
    detail: Any = None


class AuditPage(BaseModel):
    """``GET /audit``: a page of entries, newest first, and how many match in all."""

    items: list[AuditEntry]
    total: int


class Registry(BaseModel):
    """A registry whose credentials the server uses when pulling (the password never comes back)."""

    name: str
    url: str
    username: str | None = None
