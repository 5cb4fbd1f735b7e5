"""A stack's file contents, stored once: ``stack_blobs`` rows and ``{name, sha256, size}`` refs.

The definition and every revision refer to their files by content hash, so the same bytes
(a build context deployed again and again) are kept once per stack. Blobs are written in the
same transaction as the rows that refer to them; they go when the stack is removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fleetdeck.errors import FleetdeckError
from fleetdeck.server.stacks.files import StackFile
from fleetdeck.server.store.models import new_id, utcnow
from fleetdeck.server.store.models_stacks import StackBlob

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def refs(files: list[StackFile]) -> list[dict[str, Any]]:
    """How a definition or revision row lists its files."""
    return [{"name": f.name, "sha256": f.sha256, "size": len(f.data)} for f in files]


async def store(session: AsyncSession, stack: str, files: list[StackFile], sqlite: bool) -> None:
    """Write the contents not stored yet for ``stack`` (a concurrent writer is harmless)."""
    wanted = {f.sha256: f for f in files}
    if not wanted:
        return
    have = set(
        await session.scalars(
            select(StackBlob.sha256).where(
                StackBlob.stack == stack, StackBlob.sha256.in_(list(wanted))
            )
        )
    )
    new = [f for digest, f in wanted.items() if digest not in have]
    if not new:
        return
    insert = sqlite_insert if sqlite else pg_insert
    for item in new:  # one at a time: one statement of up to 64 MiB is enough
        stmt = insert(StackBlob).values(
            id=new_id(), stack=stack, sha256=item.sha256, size=len(item.data), data=item.data,
            created_at=utcnow(),
        )  # fmt: skip
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["stack", "sha256"]))


async def load(session: AsyncSession, stack: str, entries: list[Any]) -> list[StackFile]:
    """The files a row lists, with their bytes, in the row's order.

    Raises:
        FleetdeckError: A referenced content is missing (the store was changed by hand).
    """
    digests = {str(e["sha256"]) for e in entries}
    rows = await session.execute(
        select(StackBlob.sha256, StackBlob.data).where(
            StackBlob.stack == stack, StackBlob.sha256.in_(list(digests))
        )
    )
    found = {digest: data for digest, data in rows}
    result = []
    for entry in entries:
        data = found.get(str(entry["sha256"]))
        if data is None:
            raise FleetdeckError(
                f"stack {stack!r}: the content of file {entry['name']!r} is missing from the store"
            )
        result.append(StackFile(str(entry["name"]), bytes(data)))
    return result


async def forget(session: AsyncSession, stack: str) -> None:
    """Delete every content of ``stack`` (it is being removed with all its revisions)."""
    await session.execute(delete(StackBlob).where(StackBlob.stack == stack))
