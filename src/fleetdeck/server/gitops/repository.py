"""The GitOps tables in the store: SQLAlchemy queries only (the rules are in :mod:`.service`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.server.store.models_gitops import GitRepository, GitRevision, StackSource

if TYPE_CHECKING:
    from fleetdeck.server.store import Store


class GitOpsRepository:
    """``git_repos``, ``stack_sources`` and ``stack_revision_commits`` of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def repos(self) -> list[GitRepository]:
        """Every repository, by name."""
        async with self.store.session() as session:
            rows = await session.scalars(select(GitRepository).order_by(GitRepository.name))
            return list(rows.all())

    async def find_repo(self, name: str) -> GitRepository | None:
        """The repository called ``name``, if any."""
        async with self.store.session() as session:
            return await session.scalar(select(GitRepository).where(GitRepository.name == name))

    async def repo(self, name: str) -> GitRepository:
        """The repository called ``name``; NotFoundError otherwise."""
        row = await self.find_repo(name)
        if row is None:
            raise NotFoundError(f"no repository {name!r}", hint="list them: fleetdeck repos ls")
        return row

    async def add_repo(self, row: GitRepository) -> GitRepository:
        """Store a new repository; ConflictError when the name is taken."""
        async with self.store.transaction() as session:
            if await session.scalar(select(GitRepository.id).where(GitRepository.name == row.name)):
                raise ConflictError(f"repository {row.name!r} exists already")
            session.add(row)
        return row

    async def delete_repo(self, name: str) -> None:
        """Forget a repository; ConflictError while a stack's source uses it."""
        async with self.store.transaction() as session:
            used = (await session.scalars(
                select(StackSource.stack).where(StackSource.repo == name))).all()  # fmt: skip
            if used:
                raise ConflictError(
                    f"repository {name!r} is the source of stack(s) {', '.join(sorted(used))}",
                    hint="remove those stacks first (stack rm)",
                )
            row = await session.scalar(select(GitRepository).where(GitRepository.name == name))
            if row is None:
                raise NotFoundError(f"no repository {name!r}")
            await session.delete(row)

    async def sources(self, repo: str | None = None) -> list[StackSource]:
        """Every stack source (of one repository), by stack."""
        query = select(StackSource).order_by(StackSource.stack)
        if repo is not None:
            query = query.where(StackSource.repo == repo)
        async with self.store.session() as session:
            return list((await session.scalars(query)).all())

    async def source(self, stack: str) -> StackSource | None:
        """The Git source of ``stack``, if it has one."""
        async with self.store.session() as session:
            return await session.scalar(select(StackSource).where(StackSource.stack == stack))

    async def put_source(self, stack: str, fields: dict[str, Any]) -> StackSource:
        """Create or change a stack's source; a changed source syncs afresh (no commit)."""
        async with self.store.transaction() as session:
            row = await session.scalar(select(StackSource).where(StackSource.stack == stack))
            if row is None:
                row = StackSource(stack=stack, status="pending", message="")
                session.add(row)
            changed = any(getattr(row, key, None) != value for key, value in fields.items())
            for key, value in fields.items():
                setattr(row, key, value)
            if changed:
                row.commit, row.failed_commit, row.status = None, None, "pending"
        return row

    async def update_source(self, stack: str, **fields: Any) -> None:
        """Set sync fields of a stack's source (gone meanwhile: nothing)."""
        async with self.store.transaction() as session:
            row = await session.scalar(select(StackSource).where(StackSource.stack == stack))
            if row is not None:
                for key, value in fields.items():
                    setattr(row, key, value)

    async def delete_source(self, stack: str) -> None:
        """Forget a stack's source and the commits of its revisions."""
        async with self.store.transaction() as session:
            await session.execute(delete(StackSource).where(StackSource.stack == stack))
            await session.execute(delete(GitRevision).where(GitRevision.stack == stack))

    async def record_commit(self, stack: str, revision: int, repo: str, commit: str) -> None:
        """Note the commit revision ``revision`` of ``stack`` was deployed from.

        A revision keeps the commit it was first deployed from (a later commit with the same
        content makes no new revision, and does not rewrite its history).
        """
        async with self.store.transaction() as session:
            known = await session.scalar(
                select(GitRevision.id).where(
                    GitRevision.stack == stack, GitRevision.revision == revision
                )  # fmt: skip
            )
            if known is None:
                session.add(GitRevision(stack=stack, revision=revision, repo=repo, commit=commit))

    async def commits(self, stack: str) -> dict[int, str]:
        """``{revision: commit}`` of a stack's Git-deployed revisions."""
        async with self.store.session() as session:
            rows = await session.scalars(select(GitRevision).where(GitRevision.stack == stack))
            return {r.revision: r.commit for r in rows.all()}
