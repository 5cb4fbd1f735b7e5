"""API tokens remember the token they were made with (``api_tokens.parent_id``).

A token created while authenticated by another API token is that token's child: it is
revoked with it and never outlives it (see :mod:`fleetdeck.server.auth.tokens`). Tokens made
from a login session, and every token that existed before this revision, have no parent.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_api_tokens_parent_id", ["parent_id"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_index("ix_api_tokens_parent_id")
        batch_op.drop_column("parent_id")
