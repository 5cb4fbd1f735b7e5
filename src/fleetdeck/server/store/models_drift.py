"""The drift table: each managed stack's drift policy and what the drift watcher remembers.

One row per stack that has a policy set through the API, has drifted, or runs on a Swarm
(whose services' baselines are kept here, see :mod:`fleetdeck.server.drift.detect`). A
server restart neither alerts twice for one drift nor forgets a revert's backoff.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads the annotations at run time
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fleetdeck.server.store.models import Base, utcnow


class StackDriftState(Base):
    """A stack's drift policy (API layer), suspension, alert and revert bookkeeping."""

    __tablename__ = "stack_drift"

    stack: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: ``notify`` or ``revert`` set through the API; None: the Compose files' or the default.
    policy: Mapped[str | None] = mapped_column(String(16), default=None)
    #: A user suspended the stack: never reverted, never alerted, until resumed.
    suspended: Mapped[bool] = mapped_column(default=False)
    #: The drift alert is firing (resolved when the drift ends).
    alerted: Mapped[bool] = mapped_column(default=False)
    #: Reverts tried in a row without ending the drift (the backoff's exponent).
    reverts: Mapped[int] = mapped_column(Integer, default=0)
    next_revert_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: Swarm: ``{service: {"label": FINGERPRINT label, "live": {key: hash}}}``.
    baselines: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
