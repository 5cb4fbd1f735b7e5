"""Stacks: definitions, variables, revisions (filled in by the stacks work).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stacks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("env_file", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "stack_revisions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("stack_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("env_file", sa.Text(), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("image_digests", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["stack_id"], ["stacks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stack_id", "revision"),
    )
    with op.batch_alter_table("stack_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stack_revisions_stack_id"), ["stack_id"], unique=False)

    op.create_table(
        "stack_variables",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("stack_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["stack_id"], ["stacks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stack_id", "key"),
    )
    with op.batch_alter_table("stack_variables", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stack_variables_stack_id"), ["stack_id"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("stack_variables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stack_variables_stack_id"))

    op.drop_table("stack_variables")
    with op.batch_alter_table("stack_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stack_revisions_stack_id"))

    op.drop_table("stack_revisions")
    op.drop_table("stacks")
