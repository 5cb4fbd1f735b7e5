"""Metrics history: 1-minute and 1-hour rollups (filled in by the metrics-history work).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 18:30:00.000000
"""

from __future__ import annotations

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""
