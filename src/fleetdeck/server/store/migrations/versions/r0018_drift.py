"""Drift detection: each stack's drift policy, alert and revert bookkeeping, Swarm baselines.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stack_drift",
        sa.Column("stack", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.Column("reverts", sa.Integer(), nullable=False),
        sa.Column("next_revert_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("baselines", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("stack"),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("stack_drift")
