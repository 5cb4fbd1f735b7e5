"""Image updates: policies and what the watcher found per stack service.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "update_policies",
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("target"),
    )
    op.create_table(
        "update_states",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("stack", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("image", sa.String(length=512), nullable=False),
        sa.Column("reference", sa.String(length=512), nullable=False),
        sa.Column("running_digest", sa.String(length=80), nullable=True),
        sa.Column("available_digest", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("failed_digests", sa.JSON(), nullable=False),
        sa.Column("notified_digest", sa.String(length=80), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stack", "service"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("update_states")
    op.drop_table("update_policies")
