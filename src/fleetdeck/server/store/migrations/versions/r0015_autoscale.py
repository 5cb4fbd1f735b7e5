"""Scaled replica counts of stack services, autoscaling policies and their decisions.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 20:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stack_scales",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("stack", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("file_replicas", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stack", "service"),
    )
    op.create_table(
        "autoscale_policies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=160), nullable=False),
        sa.Column("min_replicas", sa.Integer(), nullable=False),
        sa.Column("max_replicas", sa.Integer(), nullable=False),
        sa.Column("cpu", sa.Float(), nullable=True),
        sa.Column("memory", sa.Float(), nullable=True),
        sa.Column("prometheus_query", sa.Text(), nullable=True),
        sa.Column("prometheus_target", sa.Float(), nullable=True),
        sa.Column("recommend_only", sa.Boolean(), nullable=False),
        sa.Column("scale_down_window_s", sa.Integer(), nullable=False),
        sa.Column("behaviour", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target"),
    )
    op.create_table(
        "autoscale_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target", sa.String(length=160), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("desired", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_autoscale_decisions_target_at", "autoscale_decisions", ["target", "at"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_autoscale_decisions_target_at", table_name="autoscale_decisions")
    op.drop_table("autoscale_decisions")
    op.drop_table("autoscale_policies")
    op.drop_table("stack_scales")
