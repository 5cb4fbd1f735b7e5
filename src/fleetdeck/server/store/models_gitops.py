"""The GitOps tables: repositories (credentials sealed), stacks' Git sources, commits deployed.

A repository's token or password, its SSH deploy key and its webhook secret are sealed with
the master key (``SecretBox``), bound to ``repo:NAME:token``, ``repo:NAME:ssh_key`` and
``repo:NAME:webhook``; no route returns the first two, the webhook secret only to an admin.
A stack's source (``stack_sources``) says where its files come from; its sync state is kept
on the same row so that a restarted server goes on from what it last deployed.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads the annotations at run time
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fleetdeck.server.store.models import Base, new_id, utcnow


class GitRepository(Base):
    """A Git repository stacks are deployed from."""

    __tablename__ = "git_repos"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(512))
    username: Mapped[str | None] = mapped_column(String(255))
    #: The HTTPS token or password, sealed.
    sealed_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The SSH deploy key (OpenSSH private key), sealed.
    sealed_ssh_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_webhook_secret: Mapped[bytes] = mapped_column(LargeBinary)
    #: Seconds between two polls; None: the server's ``gitops_poll_interval_s``.
    poll_interval_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StackSource(Base):
    """Where a stack's files come from in Git, and how its last sync went."""

    __tablename__ = "stack_sources"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    stack: Mapped[str] = mapped_column(String(64), unique=True)
    environment: Mapped[str] = mapped_column(String(64))
    repo: Mapped[str] = mapped_column(String(64), index=True)
    ref: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(512), default="")
    #: Compose files relative to ``path``; empty: compose.yaml (or its usual other names).
    compose_files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    env_file: Mapped[str | None] = mapped_column(String(512))
    submodules: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The commit the stack's files were last taken from (deployed, or found unchanged).
    commit: Mapped[str | None] = mapped_column(String(64))
    #: ``pending`` | ``synced`` | ``failed``.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    message: Mapped[str] = mapped_column(Text, default="")
    #: The commit the last failure was about (an alert fires once per failing commit).
    failed_commit: Mapped[str | None] = mapped_column(String(64))
    synced_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GitRevision(Base):
    """The commit a stack revision was deployed from."""

    __tablename__ = "stack_revision_commits"
    __table_args__ = (UniqueConstraint("stack", "revision"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    stack: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    repo: Mapped[str] = mapped_column(String(64))
    commit: Mapped[str] = mapped_column(String(64))
