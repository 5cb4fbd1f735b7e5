"""Metrics history: 1-minute and 1-hour rollups and how far they are done.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "metric_rollups",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("avg", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["metric_series.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("series_id", "step", "ts"),
    )
    op.create_index("ix_metric_rollups_step_ts", "metric_rollups", ["step", "ts"], unique=False)
    op.create_table(
        "metric_rollup_state",
        sa.Column("step", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("done_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("step"),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("metric_rollup_state")
    op.drop_index("ix_metric_rollups_step_ts", table_name="metric_rollups")
    op.drop_table("metric_rollups")
