"""Stack definitions, variables, revisions and their files in the store.

Files are stored once per stack by content (:mod:`.blobs`); rows hold ``{name, sha256,
size}``. Secret variable values are sealed with the server's :class:`SecretBox` before they reach
this module's callers' rows and are only opened for a deploy; nothing here logs values.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from fleetdeck.errors import NotFoundError
from fleetdeck.server.stacks import blobs
from fleetdeck.server.store.models_stacks import StackDefinition, StackRevision, StackVariable

if TYPE_CHECKING:
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.stacks.files import StackFile
    from fleetdeck.server.store import Store


def secret_context(stack: str, key: str) -> str:
    """The associated data a stack secret is sealed with (a copy elsewhere won't open)."""
    return f"stack:{stack}:var:{key}"


#: A revision's variable that came from the deploying command's shell, not the store.
SHELL_SOURCE = "shell"


@dataclass
class Variable:
    """A stack variable; ``value`` is None for a secret unless opened for a deploy.

    ``source`` is ``stored`` for the stack's own variables and ``shell`` for a value the
    deploying command's environment gave for that deploy only (kept sealed in its revision,
    so a rollback uses it again, but never made a stored variable).
    """

    key: str
    secret: bool
    value: str | None
    sealed: bytes | None = field(default=None, repr=False)
    source: str = "stored"

    def to_json(self) -> dict[str, Any]:
        """As the API serves it: a secret's value is always null."""
        return {
            "key": self.key,
            "secret": self.secret,
            "value": None if self.secret else self.value,
        }

    def to_revision(self) -> dict[str, Any]:
        """As a revision stores it (secrets stay sealed)."""
        sealed = base64.b64encode(self.sealed).decode() if self.sealed else None
        value = None if self.secret else self.value
        data = {"key": self.key, "secret": self.secret, "value": value, "sealed": sealed}
        return data | ({"source": self.source} if self.source == SHELL_SOURCE else {})

    @classmethod
    def from_revision(cls, data: dict[str, Any]) -> Variable:
        """Read a variable a revision stored."""
        sealed = base64.b64decode(data["sealed"]) if data.get("sealed") else None
        source = str(data.get("source") or "stored")
        return cls(str(data["key"]), bool(data.get("secret")), data.get("value"), sealed, source)


async def _replace_variables(session: Any, stack_id: str, variables: list[Variable]) -> None:
    await session.execute(delete(StackVariable).where(StackVariable.stack_id == stack_id))
    for var in variables:
        if var.source == SHELL_SOURCE:
            continue  # a deploy's shell value is never made a stored variable
        session.add(StackVariable(stack_id=stack_id, key=var.key, secret=var.secret,
                                  value=var.value, sealed=var.sealed))  # fmt: skip


class StackRepository:
    """Rows of the stack tables."""

    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box

    async def find(self, name: str) -> StackDefinition | None:
        """The stack called ``name``, if managed."""
        async with self._store.session() as session:
            found: StackDefinition | None = await session.scalar(
                select(StackDefinition).where(StackDefinition.name == name)
            )
            return found

    async def require(self, name: str) -> StackDefinition:
        """The stack called ``name`` or NotFoundError."""
        found = await self.find(name)
        if found is None:
            raise NotFoundError(f"no stack {name!r}", hint="list them with: fleetdeck stack ls")
        return found

    async def all(self) -> list[StackDefinition]:
        """Every managed stack."""
        async with self._store.session() as session:
            return list(
                await session.scalars(select(StackDefinition).order_by(StackDefinition.name))
            )

    async def save(
        self, name: str, environment: str, kind: str, files: list[StackFile], env_file: str | None
    ) -> StackDefinition:
        """Create or replace a stack's definition."""
        async with self._store.transaction() as session:
            row = await session.scalar(select(StackDefinition).where(StackDefinition.name == name))
            if row is None:
                row = StackDefinition(name=name)
                session.add(row)
            row.environment, row.kind = environment, kind
            await blobs.store(session, name, files, self._store.is_sqlite)
            row.files = blobs.refs(files)
            row.env_file = env_file
            row.updated_at = datetime.now(UTC)
        return await self.require(name)

    async def files(self, stack: str, entries: list[Any]) -> list[StackFile]:
        """The files a definition or revision row lists (``row.files``), with their bytes."""
        async with self._store.session() as session:
            return await blobs.load(session, stack, entries)

    async def set_status(self, name: str, status: str, message: str, revision: int | None) -> None:
        """Record how the stack stands after a deploy."""
        async with self._store.transaction() as session:
            row = await session.scalar(select(StackDefinition).where(StackDefinition.name == name))
            if row is None:
                return
            row.status, row.message, row.updated_at = status, message, datetime.now(UTC)
            if revision is not None:
                row.revision = revision

    async def restore_definition(
        self, name: str, revision: StackRevision, *, variables: bool
    ) -> None:
        """Make the definition what ``revision`` deployed again (an undone deploy's files go).

        The revision's files are in ``stack_blobs`` already; with ``variables``, the stored
        variables become the revision's too (the undone deploy was a rollback that set them).
        """
        async with self._store.transaction() as session:
            row = await session.scalar(select(StackDefinition).where(StackDefinition.name == name))
            if row is None:
                return
            row.files, row.env_file = list(revision.files), revision.env_file
            row.updated_at = datetime.now(UTC)
            if variables:
                chosen = [Variable.from_revision(v) for v in revision.variables]
                await _replace_variables(session, row.id, chosen)

    async def delete(self, name: str) -> None:
        """Forget a stack (variables, revisions and file contents go with it)."""
        async with self._store.transaction() as session:
            row = await session.scalar(select(StackDefinition).where(StackDefinition.name == name))
            if row is not None:
                await session.execute(delete(StackVariable).where(StackVariable.stack_id == row.id))
                await session.execute(delete(StackRevision).where(StackRevision.stack_id == row.id))
                await session.delete(row)
            await blobs.forget(session, name)

    # ----------------------------------------------------------------- variables
    async def variables(self, stack: StackDefinition) -> list[Variable]:
        """The stack's variables (secrets sealed, value None)."""
        async with self._store.session() as session:
            rows = await session.scalars(
                select(StackVariable)
                .where(StackVariable.stack_id == stack.id)
                .order_by(StackVariable.key)
            )
            return [
                Variable(r.key, r.secret, None if r.secret else r.value, r.sealed) for r in rows
            ]

    async def set_variable(
        self, stack: StackDefinition, key: str, value: str, secret: bool
    ) -> None:
        """Set a variable; a secret is sealed here and never stored in clear."""
        async with self._store.transaction() as session:
            row = await session.scalar(
                select(StackVariable).where(
                    StackVariable.stack_id == stack.id, StackVariable.key == key
                )
            )
            if row is None:
                row = StackVariable(stack_id=stack.id, key=key)
                session.add(row)
            row.secret = secret
            row.value = None if secret else value
            row.sealed = self._box.seal(value, secret_context(stack.name, key)) if secret else None
            row.updated_at = datetime.now(UTC)

    async def replace_variables(self, stack: StackDefinition, variables: list[Variable]) -> None:
        """Make the stack's variables exactly ``variables`` (a rollback restores them)."""
        async with self._store.transaction() as session:
            await _replace_variables(session, stack.id, variables)

    async def delete_variable(self, stack: StackDefinition, key: str) -> None:
        """Remove a variable, or NotFoundError."""
        async with self._store.transaction() as session:
            result = await session.execute(
                delete(StackVariable).where(
                    StackVariable.stack_id == stack.id, StackVariable.key == key
                )
            )
            if not getattr(result, "rowcount", 0):
                raise NotFoundError(f"stack {stack.name!r} has no variable {key!r}")

    def sealed_shell(self, stack: str, values: dict[str, str]) -> list[Variable]:
        """A deploy's shell values as revision variables, sealed (they may hold secrets)."""
        return [
            Variable(key, True, None, self._box.seal(value, secret_context(stack, key)),
                     SHELL_SOURCE)
            for key, value in sorted(values.items())
        ]  # fmt: skip

    def opened(self, stack: str, variables: list[Variable]) -> dict[str, str]:
        """Every variable's value, secrets decrypted (for loading and delivery only)."""
        values: dict[str, str] = {}
        for var in variables:
            if var.secret and var.sealed is not None:
                values[var.key] = self._box.open(var.sealed, secret_context(stack, var.key))
            elif var.value is not None:
                values[var.key] = var.value
        return values

    # ----------------------------------------------------------------- revisions
    async def next_revision(self, stack: StackDefinition) -> int:
        """The number the next revision gets."""
        async with self._store.session() as session:
            top = await session.scalar(
                select(func.max(StackRevision.revision)).where(StackRevision.stack_id == stack.id)
            )
            return int(top or 0) + 1

    async def close_interrupted(self) -> None:
        """Deploys a stopped server left open are over: record them as failed.

        Called at start-up, before any deploy of this server can be running; the next deploy
        of such a stack converges from what runs (see the host applier).
        """
        message = "interrupted: the server stopped during this deploy"
        async with self._store.transaction() as session:
            for row in await session.scalars(
                select(StackRevision).where(StackRevision.result == "deploying")
            ):
                row.result, row.message = "failed", message
            for stack in await session.scalars(
                select(StackDefinition).where(StackDefinition.status == "deploying")
            ):
                stack.status, stack.message = "unknown", message

    async def add_revision(
        self, stack: StackDefinition, revision: StackRevision, files: list[StackFile]
    ) -> None:
        """Store a revision of ``files`` (result ``deploying`` until :meth:`finish_revision`)."""
        async with self._store.transaction() as session:
            await blobs.store(session, stack.name, files, self._store.is_sqlite)
            revision.stack_id = stack.id
            revision.files = blobs.refs(files)
            session.add(revision)

    async def finish_revision(
        self,
        stack: StackDefinition,
        number: int,
        result: str,
        message: str,
        digests: dict[str, str],
    ) -> None:
        """Record a revision's outcome and image digests."""
        async with self._store.transaction() as session:
            row = await session.scalar(
                select(StackRevision).where(
                    StackRevision.stack_id == stack.id, StackRevision.revision == number
                )
            )
            if row is not None:
                row.result, row.message, row.image_digests = result, message, dict(digests)

    async def revisions(self, stack: StackDefinition) -> list[StackRevision]:
        """Every revision, newest first."""
        async with self._store.session() as session:
            rows = await session.scalars(
                select(StackRevision)
                .where(StackRevision.stack_id == stack.id)
                .order_by(StackRevision.revision.desc())
            )
            return list(rows)

    async def revision(self, stack: StackDefinition, number: int) -> StackRevision:
        """One revision or NotFoundError."""
        async with self._store.session() as session:
            row: StackRevision | None = await session.scalar(
                select(StackRevision).where(
                    StackRevision.stack_id == stack.id, StackRevision.revision == number
                )
            )
        if row is None:
            raise NotFoundError(f"stack {stack.name!r} has no revision {number}")
        return row
