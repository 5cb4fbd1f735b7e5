"""Log collection: nothing in the main store (kept so revision ids stay in order).

Collected log lines live in a SQLite file of their own, ``logs.db`` in the data dir, whose
schema :mod:`fleetdeck.server.logs.store` creates idempotently: see that module for why.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 18:30:00.000000
"""

from __future__ import annotations

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""
