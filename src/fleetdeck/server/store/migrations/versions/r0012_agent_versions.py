"""Nodes remember the version, protocol and commit their agent last reported.

The server shows an agent as ``outdated`` when it is older than the server, and works with
agents one protocol older (:mod:`fleetdeck.protocol`). The live inventory knows this only
while a node is connected; kept here, ``fleetdeck env ls`` and ``agents ls`` say which
version a host runs while it is off, and after the server restarts. Nodes enrolled before
this revision have none until their agent next connects.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("nodes") as batch_op:
        batch_op.add_column(sa.Column("agent_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("agent_protocol", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("agent_commit", sa.String(length=40), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("nodes") as batch_op:
        batch_op.drop_column("agent_commit")
        batch_op.drop_column("agent_protocol")
        batch_op.drop_column("agent_version")
