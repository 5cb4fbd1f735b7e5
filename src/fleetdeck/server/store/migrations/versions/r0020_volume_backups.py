"""Volume backups: policies and the history of runs.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-07 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "volume_backup_policies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=True),
        sa.Column("stack", sa.String(length=64), nullable=True),
        sa.Column("service", sa.String(length=64), nullable=True),
        sa.Column("volumes", sa.JSON(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=True),
        sa.Column("keep_last", sa.Integer(), nullable=False),
        sa.Column("consistency", sa.String(length=8), nullable=False),
        sa.Column("pre_hook", sa.Text(), nullable=True),
        sa.Column("post_hook", sa.Text(), nullable=True),
        sa.Column("passphrase_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "volume_backup_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=True),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("volume", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("consistency", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("snapshot_id", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("added_bytes", sa.BigInteger(), nullable=True),
        sa.Column("files", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("restart_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_volume_backup_runs_policy", "volume_backup_runs", ["policy"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_volume_backup_runs_policy", table_name="volume_backup_runs")
    op.drop_table("volume_backup_runs")
    op.drop_table("volume_backup_policies")
