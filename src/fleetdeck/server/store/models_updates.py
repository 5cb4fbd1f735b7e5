"""The image-update tables: policies set by the API and what the watcher found per service.

A service's row keeps the digest it runs, the digest its tag points at in the registry, the
digests whose automatic update failed (never tried again) and the digest last notified (one
alert per new digest), so a restarted server neither re-alerts nor retries a failed update.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads the annotations at run time
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fleetdeck.server.store.models import Base, new_id, utcnow


class UpdatePolicyRow(Base):
    """The API's policy for ``default``, ``STACK`` or ``STACK/SERVICE`` (off, notify, auto)."""

    __tablename__ = "update_policies"

    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    policy: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UpdateStateRow(Base):
    """What the watcher knows of one stack service's image."""

    __tablename__ = "update_states"
    __table_args__ = (UniqueConstraint("stack", "service"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    stack: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(128))
    environment: Mapped[str] = mapped_column(String(64))
    #: The image as the Compose file names it, and fully qualified (what is checked).
    image: Mapped[str] = mapped_column(String(512))
    reference: Mapped[str] = mapped_column(String(512))
    running_digest: Mapped[str | None] = mapped_column(String(80))
    available_digest: Mapped[str | None] = mapped_column(String(80))
    #: current, available, updating, failed, unknown (see ``updates/watcher.py``).
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    message: Mapped[str] = mapped_column(Text, default="")
    failed_digests: Mapped[list[Any]] = mapped_column(JSON, default=list)
    notified_digest: Mapped[str | None] = mapped_column(String(80))
    checked_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
