"""Autoscaling tables: one policy per scaled service, and every decision it took.

A policy's ``target`` is the service as the CLI names it, with its kind: ``stack:STACK/SVC``
(a service of a stack on a plain host) or ``swarm:ENV/SVC`` (a Swarm service). Decisions
are kept so a person can read why a service has the replicas it has (time, metric values,
current → desired, reason), and so the UI can draw replicas against the metric.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads Mapped[datetime] at runtime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fleetdeck.server.store.models import Base, new_id, utcnow


class AutoscalePolicy(Base):
    """How one service is scaled: bounds, targets and behaviour."""

    __tablename__ = "autoscale_policies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    target: Mapped[str] = mapped_column(String(160), unique=True)
    min_replicas: Mapped[int] = mapped_column(Integer)
    max_replicas: Mapped[int] = mapped_column(Integer)
    cpu: Mapped[float | None] = mapped_column(Float)
    memory: Mapped[float | None] = mapped_column(Float)
    prometheus_query: Mapped[str | None] = mapped_column(Text)
    prometheus_target: Mapped[float | None] = mapped_column(Float)
    recommend_only: Mapped[bool] = mapped_column(Boolean, default=False)
    scale_down_window_s: Mapped[int] = mapped_column(Integer, default=300)
    #: JSON of the behaviour beyond the window (scale-up limits per period, tolerance).
    behaviour: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutoscaleDecision(Base):
    """One sync of one policy that recommended, changed or refused to change replicas."""

    __tablename__ = "autoscale_decisions"
    __table_args__ = (Index("ix_autoscale_decisions_target_at", "target", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(160))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    current: Mapped[int] = mapped_column(Integer)
    desired: Mapped[int] = mapped_column(Integer)
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    #: ``{metric: {value, target, recommendation}}`` as the sync saw them.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
