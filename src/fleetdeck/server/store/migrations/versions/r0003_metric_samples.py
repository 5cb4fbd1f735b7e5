"""Metrics history: series and their raw samples.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "metric_series",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("target_name", sa.String(length=255), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("environment", "node", "kind", "target_id", "metric", "instance"),
    )
    op.create_index(
        op.f("ix_metric_series_target_name"), "metric_series", ["target_name"], unique=False
    )
    op.create_table(
        "metric_samples",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["metric_series.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("series_id", "ts"),
    )
    op.create_index(op.f("ix_metric_samples_ts"), "metric_samples", ["ts"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index(op.f("ix_metric_samples_ts"), table_name="metric_samples")
    op.drop_table("metric_samples")
    op.drop_index(op.f("ix_metric_series_target_name"), table_name="metric_series")
    op.drop_table("metric_series")
