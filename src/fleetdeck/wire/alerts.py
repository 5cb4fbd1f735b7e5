"""Alerting: alerts, rules, silences, maintenance windows, channels and their deliveries.

Times are pydantic's ISO 8601 (``Z``); durations are seconds. Optional fields default, so
that an answer of an older server still parses.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - pydantic needs it at run time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Alert(BaseModel):
    """One alert (a rule's condition for one target)."""

    id: str
    rule: str
    severity: str
    state: str
    labels: dict[str, Any]
    summary: str
    value: float | None = None
    started_at: datetime
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    notified: str
    last_notified_at: datetime | None = None
    suppressed: str | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None


class AlertPage(BaseModel):
    """``GET /alerts``: a page of alerts and how many match in all."""

    items: list[Alert]
    total: int


class Rule(BaseModel):
    """An alert rule (durations in seconds; the key ``for`` is ``for_`` in Python)."""

    model_config = ConfigDict(populate_by_name=True)

    name: str
    description: str = ""
    condition: str
    metric: str | None = None
    target: str | None = None
    operator: str | None = None
    threshold: float | None = None
    instance: str | None = None
    window: float | None = None
    for_: float = Field(alias="for")
    severity: str
    environments: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    stacks: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    repeat: float | None = None
    enabled: bool
    builtin: bool


class Silence(BaseModel):
    """Matchers whose alerts notify nobody until ``ends_at``."""

    id: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    state: str


class MaintenanceWindow(BaseModel):
    """An environment whose alerts notify nobody until ``ends_at``."""

    id: str
    environment: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime
    state: str


class Channel(BaseModel):
    """A notification channel (its Apprise URL masked)."""

    name: str
    kind: str
    url: str
    min_severity: str
    enabled: bool
    created_at: datetime


class ChannelUrl(BaseModel):
    """``GET /channels/{name}/url``: the stored URL in clear, for an admin who asked."""

    name: str
    url: str


class Delivery(BaseModel):
    """One notification to one channel and how it went."""

    id: str
    channel: str
    event: str
    rule: str | None = None
    alert_ids: list[str]
    title: str
    body: str
    severity: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
