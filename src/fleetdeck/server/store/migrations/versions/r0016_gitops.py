"""Git repositories, stacks' Git sources and the commit of each Git-deployed revision.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "git_repos",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("sealed_token", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_ssh_key", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_webhook_secret", sa.LargeBinary(), nullable=False),
        sa.Column("poll_interval_s", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "stack_sources",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("stack", sa.String(length=64), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("repo", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("compose_files", sa.JSON(), nullable=False),
        sa.Column("env_file", sa.String(length=512), nullable=True),
        sa.Column("submodules", sa.Boolean(), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("failed_commit", sa.String(length=64), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stack"),
    )
    op.create_index("ix_stack_sources_repo", "stack_sources", ["repo"])
    op.create_table(
        "stack_revision_commits",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("stack", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=64), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stack", "revision"),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("stack_revision_commits")
    op.drop_index("ix_stack_sources_repo", table_name="stack_sources")
    op.drop_table("stack_sources")
    op.drop_table("git_repos")
