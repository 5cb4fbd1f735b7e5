"""Stacks: definitions, variables, revisions (filled in by the stacks work).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 18:30:00.000000
"""

from __future__ import annotations

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""
