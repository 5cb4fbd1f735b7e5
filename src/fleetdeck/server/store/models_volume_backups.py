"""Volume backup tables: policies (from the API, a Compose file or labels) and every run.

A policy's own passphrase, when it has one, is sealed with the master key (``SecretBox``,
context ``volume-backup-policy:NAME``) and never returned. A run is ``running`` until restic
has written its snapshot, ``ok`` after; a service that failed to start again afterwards keeps
the run ``ok`` (the copy is good) with ``restart_error`` set, and is alerted at once.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads Mapped[datetime] at runtime

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fleetdeck.server.store.models import Base, UTCDateTime, new_id, utcnow


class VolumeBackupPolicy(Base):
    """What to back up (a stack/service's volumes, or named ones), when, where, how."""

    __tablename__ = "volume_backup_policies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``api``, ``compose`` (replaced at each deploy of the stack) or ``label``.
    source: Mapped[str] = mapped_column(String(16), default="api")
    environment: Mapped[str] = mapped_column(String(64))
    node: Mapped[str | None] = mapped_column(String(128), nullable=True)
    stack: Mapped[str | None] = mapped_column(String(64), nullable=True)
    service: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Volume names; empty: every named volume the stack's (service's) containers mount.
    volumes: Mapped[list[str]] = mapped_column(JSON, default=list)
    target: Mapped[str] = mapped_column(String(64))
    #: Seconds between scheduled backups (None: on demand only).
    interval_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    keep_last: Mapped[int] = mapped_column(Integer, default=7)
    #: ``none``, ``stop``, ``pause`` or ``hook``.
    consistency: Mapped[str] = mapped_column(String(8), default="none")
    pre_hook: Mapped[str | None] = mapped_column(Text, nullable=True)
    post_hook: Mapped[str | None] = mapped_column(Text, nullable=True)
    passphrase_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VolumeBackupRun(Base):
    """One volume's backup: where it lived, where it went, how big, how long, how it went."""

    __tablename__ = "volume_backup_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    policy: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    environment: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(128))
    volume: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))
    consistency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    added_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    files: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    restart_error: Mapped[str | None] = mapped_column(Text, nullable=True)
