"""The auto-heal tables: policy layers set by the API or read from Compose, and containers' tracks.

A container's track (restarts issued, streak, crash loop) is kept so that a server restart
neither forgets a crash loop nor restarts a container again that was restarted a moment ago:
the healer loads the tracks at start and goes on from what it sees then. The history of what
the healer did is the audit log (``heal.*`` actions), not a table of its own.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads the annotations at run time
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fleetdeck.server.store.models import Base, new_id, utcnow


class HealPolicyLayer(Base):
    """One layer of heal policy: ``default``, ``STACK`` or ``STACK/SERVICE``, by source."""

    __tablename__ = "heal_policies"
    __table_args__ = (UniqueConstraint("target", "source"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    target: Mapped[str] = mapped_column(String(200))
    #: ``api`` or ``compose`` (replaced at every deploy of the stack).
    source: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HealTrack(Base):
    """What the healer remembers of one container (by engine id: a recreated one starts over)."""

    __tablename__ = "heal_states"

    container_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    environment: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    #: Epoch seconds of the restarts issued within the policy's window.
    restarts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    last_restart: Mapped[float | None] = mapped_column(Float)
    crash_looping_since: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
