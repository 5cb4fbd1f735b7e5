"""Stack tables: definitions, per-stack variables (secrets sealed), revisions and file blobs.

A stack's files are kept here (the store is the truth; the data dir only holds a copy for
loading). The definition and each revision list their files as ``{name, sha256, size}``;
the bytes live once per stack in ``stack_blobs`` (a context deployed 20 times is stored once).
Secret variable values are sealed with the master key (``SecretBox``) and bound to
``stack:NAME:var:KEY``; a revision copies the sealed bytes, so a rollback restores exactly.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads Mapped[datetime] at runtime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fleetdeck.server.store.models import Base, new_id, utcnow


class StackDefinition(Base):
    """A managed stack: where it runs and its Compose files."""

    __tablename__ = "stacks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    environment: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="host")
    #: [{name, sha256, size}]: the bytes are in ``stack_blobs``.
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    env_file: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StackVariable(Base):
    """One variable of a stack (interpolation and secret sources)."""

    __tablename__ = "stack_variables"
    __table_args__ = (UniqueConstraint("stack_id", "key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(128))
    secret: Mapped[bool] = mapped_column(default=False)
    value: Mapped[str | None] = mapped_column(Text)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StackRevision(Base):
    """One deploy of a stack: what was deployed, by whom, with which images, and how it went."""

    __tablename__ = "stack_revisions"
    __table_args__ = (UniqueConstraint("stack_id", "revision"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    environment: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16), default="deploying")
    message: Mapped[str] = mapped_column(Text, default="")
    strategy: Mapped[str] = mapped_column(String(16), default="auto")
    #: [{name, sha256, size}] as on the definition.
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    env_file: Mapped[str | None] = mapped_column(Text)
    #: [{key, secret, value|null, sealed: base64|null}]: secrets stay sealed.
    variables: Mapped[list[Any]] = mapped_column(JSON, default=list)
    image_digests: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: {service: action} of the services this deploy changed; None for rows before 0009.
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class StackBlob(Base):
    """The bytes of one file content of a stack, stored once whatever refers to it.

    Keyed by the stack's name (not its row id) so that the rows of a stack and its revisions
    share them; removed with the stack.
    """

    __tablename__ = "stack_blobs"
    __table_args__ = (UniqueConstraint("stack", "sha256"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    stack: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StackAllowance(Base):
    """An admin's permission for a dangerous hardening rule, for one stack or environment.

    ``scope`` is ``stack`` or ``environment`` and ``name`` the stack's or environment's name
    (a stack may be allowed before it is first deployed; ``stack rm`` removes its rows).
    """

    __tablename__ = "stack_allowances"
    __table_args__ = (UniqueConstraint("scope", "name", "rule"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StackScale(Base):
    """A replica count set by hand or by the autoscaler, over the Compose file's count.

    ``file_replicas`` is the file's count when it was set: a deploy keeps ``replicas`` while
    the file still says that, and drops the row once the file's count changed (the file's
    author then decided). ``pending`` is true from the moment a scale is asked until its
    replicas converged: a server stopped in between converges it when it is back.
    """

    __tablename__ = "stack_scales"
    __table_args__ = (UniqueConstraint("stack", "service"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    stack: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(64))
    replicas: Mapped[int] = mapped_column(Integer)
    file_replicas: Mapped[int] = mapped_column(Integer)
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    actor: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
