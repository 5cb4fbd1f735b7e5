"""Environments remember the engine socket of a ``local`` environment.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("environments") as batch_op:
        batch_op.add_column(sa.Column("docker_host", sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("environments") as batch_op:
        batch_op.drop_column("docker_host")
