"""The server's tables (SQLAlchemy 2 declarative models).

Every schema change needs an Alembic revision in ``migrations/versions``;
``tests/unit/server/test_store.py`` fails when the models and the migrations disagree.
Identifiers are 32-character hex strings (uuid4) so that rows can be made on any replica
without a round trip; times are timezone-aware UTC (see :class:`UTCDateTime`). Certificate
serial numbers are stored as decimal strings (they are up to 159-bit integers).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def new_id() -> str:
    """A fresh row identifier."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Now, timezone-aware UTC (the only kind of time the store holds)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC and always read back timezone-aware.

    SQLite has no time zones; without this, times written aware come back naive and
    comparisons with ``datetime.now(UTC)`` raise.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as naive UTC; refuse naive input (its zone would be a guess)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every fleetdeck table."""

    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class User(Base):
    """A person (or automation account) who can log in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A login session (table ``sessions``); only the SHA-256 of its token is stored."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A long-lived bearer token (``fdt_…``) for scripts; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: The token this one was made with (``None``: made from a login session). A child is
    #: live only while every ancestor is; no foreign key, as rows are revoked, never deleted
    #: alone (a user's tokens go together with the user).
    parent_id: Mapped[str | None] = mapped_column(String(32), index=True)


class AuditEntry(Base):
    """Who did what to which object, when, and how it ended."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(255), index=True)
    result: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None]


class Environment(Base):
    """A Docker host (``local``) or a group of agent nodes (``agent``) managed as one."""

    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # local|agent
    #: The engine a ``local`` environment's server-run agent talks to (``unix:///path``).
    docker_host: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(default=list)
    groups: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cluster_id: Mapped[str | None] = mapped_column(String(64))


class Node(Base):
    """An enrolled agent (one Docker engine) of an environment."""

    __tablename__ = "nodes"
    __table_args__ = (UniqueConstraint("environment_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    hostname: Mapped[str] = mapped_column(String(255))
    agent_url: Mapped[str] = mapped_column(String(512))
    cert_serial: Mapped[str] = mapped_column(String(64))
    cert_fingerprint: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime | None]
    #: What its agent last reported (``fleetdeck.protocol``); null until it first connects.
    agent_version: Mapped[str | None] = mapped_column(String(64))
    agent_protocol: Mapped[int | None]
    agent_commit: Mapped[str | None] = mapped_column(String(40))


class JoinToken(Base):
    """A single-use, expiring token an agent enrols with; only its secret's hash is stored."""

    __tablename__ = "join_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RevokedCert(Base):
    """A certificate (of a removed node) that must no longer be accepted."""

    __tablename__ = "revoked_certs"

    serial: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(255), default="")


class Registry(Base):
    """A container registry's credentials; the password is encrypted with the master key."""

    __tablename__ = "registries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(512))
    username: Mapped[str | None] = mapped_column(String(255))
    password_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricSeries(Base):
    """One time series: a metric of a host or container (and a mount point or interface).

    Samples refer to their series by a small integer so that each sample row is three
    numbers, not the repeated names (about 5x less space per sample on SQLite).
    """

    __tablename__ = "metric_series"
    __table_args__ = (
        UniqueConstraint("environment", "node", "kind", "target_id", "metric", "instance"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # host|container
    target_id: Mapped[str] = mapped_column(String(128))  # container id; "" for the host
    target_name: Mapped[str] = mapped_column(String(255), index=True)
    metric: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(String(255))  # mount point, interface, or ""


class MetricSample(Base):
    """One raw sample: series, time (epoch seconds, so steps bucket portably), value."""

    __tablename__ = "metric_samples"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    value: Mapped[float] = mapped_column(Float)


class MetricRollup(Base):
    """One bucket of a series rolled up: ``step`` 60 (1 minute) or 3600 (1 hour).

    ``ts`` is the bucket's start (epoch seconds, a multiple of ``step``). ``count`` samples
    went into it, so a coarser rollup or a query can weight averages correctly.
    """

    __tablename__ = "metric_rollups"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    avg: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_metric_rollups_step_ts", "step", "ts"),)


class MetricRollupState(Base):
    """How far each rollup step is done: buckets before ``done_until`` are rolled up.

    Moved back by the writer when late samples arrive (an agent's replay after an outage),
    so those buckets are rolled up again.
    """

    __tablename__ = "metric_rollup_state"

    step: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    done_until: Mapped[int] = mapped_column(BigInteger)


__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Environment",
    "JoinToken",
    "Node",
    "Registry",
    "RevokedCert",
    "LoginSession",
    "MetricRollup",
    "MetricRollupState",
    "MetricSample",
    "MetricSeries",
    "User",
    "UTCDateTime",
    "new_id",
    "utcnow",
]
