"""Alerting: rules, alerts, silences, channels, deliveries (filled in by the alerting work).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 18:30:00.000000
"""

from __future__ import annotations

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""
