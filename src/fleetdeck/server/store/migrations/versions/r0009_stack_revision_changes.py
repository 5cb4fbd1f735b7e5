"""Each stack revision records what its deploy changed: ``{service: action}``.

``stack history`` shows how many services a revision changed; rows from before this
revision have none recorded (null: unknown).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("stack_revisions") as batch_op:
        batch_op.add_column(sa.Column("changes", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("stack_revisions") as batch_op:
        batch_op.drop_column("changes")
