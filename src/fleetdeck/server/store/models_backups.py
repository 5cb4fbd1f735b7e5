"""Backup tables: targets (credentials sealed), the schedule, and every backup run.

A target's SSH key or password, or its S3 secret key, is sealed with the master key
(``SecretBox``, context ``backup-target:NAME``) and never returned by any route. A run is
``running`` until restic's snapshot has been written *and* verified; only then ``ok``: a
server killed in between leaves it ``running``, and the next start marks it ``interrupted``
(never counted as a good backup).
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads Mapped[datetime] at runtime

from sqlalchemy import BigInteger, Boolean, Float, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fleetdeck.server.store.models import Base, UTCDateTime, new_id, utcnow


class BackupTarget(Base):
    """Where backups are written: a directory, an SFTP server or an S3 bucket."""

    __tablename__ = "backup_targets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``dir``, ``sftp`` or ``s3``.
    kind: Mapped[str] = mapped_column(String(8))
    #: A directory path, ``sftp://user@host:port/path`` or ``s3:https://host/bucket/path``.
    url: Mapped[str] = mapped_column(String(1024))
    #: SFTP: the server's host key line(s), as ``known_hosts`` holds them.
    known_hosts: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: S3: the access key id (not secret).
    access_key_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    #: The sealed SSH private key, SSH password or S3 secret key.
    secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: ``key``, ``password`` (SFTP) or ``s3`` when a secret is stored.
    secret_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    keep_daily: Mapped[int] = mapped_column(Integer, default=7)
    keep_weekly: Mapped[int] = mapped_column(Integer, default=4)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BackupSchedule(Base):
    """The server backup schedule (one row, id 1)."""

    __tablename__ = "backup_schedule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    interval_s: Mapped[float] = mapped_column(Float, default=86400.0)
    target: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BackupRun(Base):
    """One server backup: when, where, how big, how long, and whether it is good."""

    __tablename__ = "backup_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    target: Mapped[str] = mapped_column(String(1024), index=True)
    #: ``manual`` or ``schedule``.
    trigger: Mapped[str] = mapped_column(String(16))
    #: ``running``, ``ok``, ``failed``, ``interrupted`` or ``forgotten`` (pruned by retention).
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Bytes of the staged data (what a restore brings back).
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: Bytes this run added to the repository (after deduplication and compression).
    added_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    files: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
