"""Stack file contents stored once per stack (``stack_blobs``), referred to by SHA-256.

Upgrade: every inline ``{name, content}`` file of the ``stacks`` and ``stack_revisions``
rows is moved into ``stack_blobs`` (one row per stack and distinct content, UTF-8 encoded)
and the row keeps ``{name, sha256, size}``. After this revision the code reads only
references: it does not keep accepting inline rows, because none are left.

Downgrade: the references are replaced by inline ``{name, content}`` again and the table is
dropped. Contents that are not UTF-8 text (possible only from 0008 on) cannot be held by the
older format: they are written with undecodable bytes replaced by U+FFFD, so such a file is
not byte-exact after a downgrade (a text file is).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import op

if TYPE_CHECKING:
    from collections.abc import Callable

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_stacks = sa.table(
    "stacks", sa.column("id", sa.String), sa.column("name", sa.String), sa.column("files", sa.JSON)
)
_revisions = sa.table(
    "stack_revisions",
    sa.column("id", sa.String),
    sa.column("stack_id", sa.String),
    sa.column("files", sa.JSON),
)
_blobs = sa.table(
    "stack_blobs",
    sa.column("id", sa.String),
    sa.column("stack", sa.String),
    sa.column("sha256", sa.String),
    sa.column("size", sa.Integer),
    sa.column("data", sa.LargeBinary),
    sa.column("created_at", sa.DateTime),
)


def _rewrite(conn: sa.Connection, change: Callable[[str, list[Any]], list[Any]]) -> None:
    """Replace the ``files`` of every stack and revision row by ``change(stack name, files)``."""
    names = {row.id: row.name for row in conn.execute(sa.select(_stacks.c.id, _stacks.c.name))}
    for row in conn.execute(sa.select(_stacks.c.id, _stacks.c.files)).all():
        files = change(names[row.id], row.files)
        conn.execute(_stacks.update().where(_stacks.c.id == row.id).values(files=files))
    query = sa.select(_revisions.c.id, _revisions.c.stack_id, _revisions.c.files)
    for rev in conn.execute(query).all():
        files = change(names[rev.stack_id], rev.files)
        conn.execute(_revisions.update().where(_revisions.c.id == rev.id).values(files=files))


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stack_blobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("stack", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stack", "sha256"),
    )
    conn = op.get_bind()
    stored: set[tuple[str, str]] = set()
    now = datetime.now(UTC).replace(tzinfo=None)  # the store keeps naive UTC

    def to_refs(stack: str, files: list[Any]) -> list[dict[str, Any]]:
        result = []
        for entry in files or []:
            if "sha256" in entry:
                result.append(entry)
                continue
            data = str(entry.get("content", "")).encode()
            digest = hashlib.sha256(data).hexdigest()
            if (stack, digest) not in stored:
                stored.add((stack, digest))
                conn.execute(
                    _blobs.insert().values(id=uuid.uuid4().hex, stack=stack, sha256=digest,
                                           size=len(data), data=data, created_at=now)
                )  # fmt: skip
            result.append({"name": entry["name"], "sha256": digest, "size": len(data)})
        return result

    _rewrite(conn, to_refs)


def downgrade() -> None:
    """Undo this revision."""
    conn = op.get_bind()
    contents = {
        (row.stack, row.sha256): bytes(row.data)
        for row in conn.execute(sa.select(_blobs.c.stack, _blobs.c.sha256, _blobs.c.data))
    }

    def inline(stack: str, files: list[Any]) -> list[dict[str, Any]]:
        result = []
        for entry in files or []:
            data = contents.get((stack, entry.get("sha256", "")), b"")
            text = entry["content"] if "content" in entry else data.decode(errors="replace")
            result.append({"name": entry["name"], "content": text})
        return result

    _rewrite(conn, inline)
    op.drop_table("stack_blobs")
