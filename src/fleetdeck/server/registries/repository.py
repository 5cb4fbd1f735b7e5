"""Registries in the store: SQLAlchemy queries only (the rules are in :mod:`.service`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.server.store.models import Registry

if TYPE_CHECKING:
    from fleetdeck.server.store import Store


class RegistryRepository:
    """The ``registries`` table of one store.

    Args:
        store: The server's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def all(self) -> list[Registry]:
        """Every registry, by name."""
        async with self.store.session() as session:
            return list((await session.scalars(select(Registry).order_by(Registry.name))).all())

    async def get(self, name: str) -> Registry:
        """The registry called ``name``; NotFoundError if there is none."""
        async with self.store.session() as session:
            row = await session.scalar(select(Registry).where(Registry.name == name))
        if row is None:
            raise NotFoundError(f"no registry {name!r}")
        return row

    async def add(self, row: Registry) -> Registry:
        """Store a new registry; ConflictError if its name is taken."""
        async with self.store.transaction() as session:
            if await session.scalar(select(Registry.id).where(Registry.name == row.name)):
                raise ConflictError(f"registry {row.name!r} exists already")
            session.add(row)
        return row

    async def delete(self, name: str) -> None:
        """Forget the registry called ``name``; NotFoundError if there is none."""
        async with self.store.transaction() as session:
            row = await session.scalar(select(Registry).where(Registry.name == name))
            if row is None:
                raise NotFoundError(f"no registry {name!r}")
            await session.delete(row)
