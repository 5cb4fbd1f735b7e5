"""The alerting tables: rules, alerts, silences, maintenance windows, channels, deliveries.

Alert state lives in the store (not in memory) so that the evaluator converges after a
crash: it recomputes what should be firing and compares with these rows. Notifications go
through an outbox: a transition and the :class:`AlertDelivery` rows it causes are written in
one transaction, and the delivery worker sends what is pending, so nothing is sent twice or
lost when the server stops between the two.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads the annotations at run time
from typing import Any

from sqlalchemy import Boolean, Float, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fleetdeck.server.store.models import Base, new_id, utcnow


class AlertRule(Base):
    """A condition to watch (built-in or a metric threshold), its scope and severity."""

    __tablename__ = "alert_rules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    #: ``metric`` or a built-in condition (see ``alerts.rules.CONDITIONS``).
    condition: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(16))  # host|container (metric rules)
    operator: Mapped[str | None] = mapped_column(String(4))
    threshold: Mapped[float | None] = mapped_column(Float)
    instance: Mapped[str | None] = mapped_column(String(255))
    window_s: Mapped[float | None] = mapped_column(Float)  # restart loop: M minutes
    for_s: Mapped[float] = mapped_column(Float, default=0.0)
    severity: Mapped[str] = mapped_column(String(16))
    #: ``{"environments": [...], "tags": [...], "stacks": [...], "labels": ["K=V", ...]}``
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channels: Mapped[list[str]] = mapped_column(default=list)  # empty: every channel
    repeat_s: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """One alert instance: a rule's condition true for one target (its fingerprint)."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending|firing|resolved
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    fired_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    #: What the channels were last told: ``none``, ``firing`` or ``resolved``.
    notified: Mapped[str] = mapped_column(String(16), default="none")
    last_notified_at: Mapped[datetime | None]
    #: Why notifications are held back right now (``silence:ID``, ``maintenance:ENV``).
    suppressed: Mapped[str | None] = mapped_column(String(128))
    acked_by: Mapped[str | None] = mapped_column(String(64))
    acked_at: Mapped[datetime | None]


class AlertSilence(Base):
    """Alerts whose labels match every matcher deliver nothing between start and end."""

    __tablename__ = "alert_silences"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    matchers: Mapped[list[str]] = mapped_column(default=list)  # ["rule=cpu", "node!=n1"]
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MaintenanceWindow(Base):
    """An environment under planned work: its alerts page nobody between start and end."""

    __tablename__ = "maintenance_windows"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    environment: Mapped[str] = mapped_column(String(64), index=True)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationChannel(Base):
    """Where notifications go: an Apprise URL, encrypted at rest (it holds tokens)."""

    __tablename__ = "notification_channels"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    url_masked: Mapped[str] = mapped_column(Text)  # scheme://host/*** (alerts.channels.mask_url)
    kind: Mapped[str] = mapped_column(String(32))  # the URL scheme (json, mailto, slack…)
    min_severity: Mapped[str] = mapped_column(String(16), default="info")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertDelivery(Base):
    """One notification to one channel (the outbox row and then its history)."""

    __tablename__ = "alert_deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(16))  # firing|resolved|repeat|test
    rule: Mapped[str | None] = mapped_column(String(64))
    alert_ids: Mapped[list[str]] = mapped_column(default=list)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]


__all__ = [
    "Alert",
    "AlertDelivery",
    "AlertRule",
    "AlertSilence",
    "MaintenanceWindow",
    "NotificationChannel",
]
