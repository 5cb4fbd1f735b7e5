"""The auto-heal tables: policy layers and containers' tracks (see ``store/models_heal.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from fleetdeck.errors import NotFoundError
from fleetdeck.server.heal.decide import Track
from fleetdeck.server.store.models import utcnow
from fleetdeck.server.store.models_heal import HealPolicyLayer, HealTrack

if TYPE_CHECKING:
    from fleetdeck.server.store import Store

API, COMPOSE = "api", "compose"
DEFAULT = "default"


class HealRepository:
    """Reads and writes the auto-heal tables."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # ------------------------------------------------------------ policy layers
    async def layers(self) -> list[HealPolicyLayer]:
        """Every stored layer, by target then source."""
        async with self._store.session() as session:
            query = select(HealPolicyLayer).order_by(HealPolicyLayer.target, HealPolicyLayer.source)
            return list((await session.scalars(query)).all())

    async def put_layer(self, target: str, source: str, fields: dict[str, Any]) -> HealPolicyLayer:
        """Create or replace the layer of ``target`` from ``source``."""
        async with self._store.transaction() as session:
            row = await session.scalar(
                select(HealPolicyLayer).where(
                    HealPolicyLayer.target == target, HealPolicyLayer.source == source
                )
            )
            if row is None:
                row = HealPolicyLayer(target=target, source=source)
                session.add(row)
            row.fields, row.updated_at = dict(fields), utcnow()
            return row

    async def delete_layer(self, target: str, source: str) -> None:
        """Remove a layer; NotFoundError if there is none."""
        async with self._store.transaction() as session:
            result = await session.execute(
                delete(HealPolicyLayer).where(
                    HealPolicyLayer.target == target, HealPolicyLayer.source == source
                )
            )
            if not getattr(result, "rowcount", 0):
                raise NotFoundError(
                    f"no heal policy for {target!r}",
                    hint="list them with: fleetdeck heal policy ls",
                )

    async def replace_compose(self, stack: str, layers: dict[str, dict[str, Any]]) -> None:
        """Replace the Compose layers of ``stack`` (targets ``STACK`` and ``STACK/SERVICE``)."""
        async with self._store.transaction() as session:
            rows = (
                await session.scalars(
                    select(HealPolicyLayer).where(HealPolicyLayer.source == COMPOSE)
                )
            ).all()
            for row in rows:
                if row.target == stack or row.target.startswith(stack + "/"):
                    await session.delete(row)
            await session.flush()
            for target, fields in layers.items():
                session.add(HealPolicyLayer(target=target, source=COMPOSE, fields=dict(fields)))

    # ------------------------------------------------------------ tracks
    async def tracks(self) -> list[Track]:
        """Every stored track."""
        async with self._store.session() as session:
            rows = (await session.scalars(select(HealTrack))).all()
        return [
            Track(
                container_id=r.container_id,
                environment=r.environment,
                node=r.node,
                name=r.name,
                restarts=[float(t) for t in r.restarts or []],
                streak=r.streak,
                last_restart=r.last_restart,
                crash_looping_since=r.crash_looping_since,
                reason=r.reason,
            )  # fmt: skip
            for r in rows
        ]

    async def save_track(self, track: Track) -> None:
        """Write what is kept of ``track`` (its restarts, streak and crash loop)."""
        async with self._store.transaction() as session:
            row = await session.get(HealTrack, track.container_id)
            if row is None:
                row = HealTrack(container_id=track.container_id)
                session.add(row)
            row.environment, row.node, row.name = track.environment, track.node, track.name
            row.restarts, row.streak = list(track.restarts), track.streak
            row.last_restart, row.crash_looping_since = (
                track.last_restart,
                track.crash_looping_since,
            )
            row.reason, row.updated_at = track.reason, utcnow()

    async def forget_tracks(self, container_ids: list[str]) -> None:
        """Drop the tracks of containers that are gone."""
        if not container_ids:
            return
        async with self._store.transaction() as session:
            await session.execute(
                delete(HealTrack).where(HealTrack.container_id.in_(container_ids))
            )
