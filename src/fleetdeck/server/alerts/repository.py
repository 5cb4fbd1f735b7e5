"""The alerting part's rows in the store: alerts, rules, channels, deliveries, silences, windows.

SQLAlchemy queries only; the rules (what may change, which input is valid) are in the
services (:mod:`.service_rules`, :mod:`.service_channels`, :mod:`.service_silences`). A
missing object is a :class:`~fleetdeck.errors.NotFoundError` with the hint the CLI shows; a
name taken already is a :class:`~fleetdeck.errors.ConflictError`. Rows are returned
detached and usable (the store does not expire them on commit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import case, func, select

from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.server.alerts.state import AlertState
from fleetdeck.server.store.models_alerts import (
    Alert,
    AlertDelivery,
    AlertRule,
    AlertSilence,
    MaintenanceWindow,
    NotificationChannel,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from fleetdeck.server.store import Store

#: A silence or a maintenance window: both are periods with a start and an end.
P = TypeVar("P", AlertSilence, MaintenanceWindow)
#: Any row of the alerting tables.
R = TypeVar("R", AlertSilence, MaintenanceWindow, AlertDelivery)


async def _alert(session: AsyncSession, alert_id: str) -> Alert:
    row = await session.get(Alert, alert_id)
    if row is None:
        raise NotFoundError(f"no alert {alert_id!r}", hint="list them with: fleetdeck alerts")
    return row


async def _rule(session: AsyncSession, name: str) -> AlertRule:
    row = await session.scalar(select(AlertRule).where(AlertRule.name == name))
    if row is None:
        raise NotFoundError(f"no rule {name!r}", hint="list them with: fleetdeck rules ls")
    return row


async def _channel(session: AsyncSession, name: str) -> NotificationChannel:
    row = await session.scalar(select(NotificationChannel).where(NotificationChannel.name == name))
    if row is None:
        raise NotFoundError(f"no channel {name!r}", hint="list them with: fleetdeck channels ls")
    return row


def channel_taken(name: str) -> ConflictError:
    """The error of a channel name that is taken."""
    return ConflictError(f"channel {name!r} exists already")


def _end(row: P, now: datetime) -> None:
    """End ``row`` now: a pending one ends before it starts, an ended one stays as it was."""
    if row.ends_at > now:
        row.ends_at = max(now, row.starts_at)


class AlertRepository:
    """The alerting tables of one store.

    Args:
        store: The server's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------ alerts
    async def alerts(self, states: Sequence[str] | None, rule: str | None) -> list[Alert]:
        """Alerts in one of ``states`` (all if empty) of ``rule`` (any if None), newest first."""
        stmt = select(Alert)
        if states:
            stmt = stmt.where(Alert.state.in_(list(states)))
        if rule:
            stmt = stmt.where(Alert.rule == rule)
        async with self.store.session() as session:
            return list((await session.scalars(stmt.order_by(Alert.started_at.desc()))).all())

    async def alert(self, alert_id: str) -> Alert:
        """One alert; NotFoundError if there is none."""
        async with self.store.session() as session:
            return await _alert(session, alert_id)

    async def ack(self, alert_id: str, who: str, at: datetime) -> Alert:
        """Mark an alert acknowledged by ``who`` at ``at``."""
        async with self.store.transaction() as session:
            row = await _alert(session, alert_id)
            row.acked_by, row.acked_at = who, at
        return row

    async def firing(self, severities: Sequence[str], limit: int) -> tuple[list[Alert], int]:
        """Firing alerts, worst of ``severities`` (mildest first) then newest first; how many."""
        severity = case({name: i for i, name in enumerate(severities)}, value=Alert.severity)
        firing = Alert.state == AlertState.firing
        async with self.store.session() as session:
            total = await session.scalar(select(func.count()).where(firing))
            rows = await session.scalars(
                select(Alert)
                .where(firing)
                .order_by(severity.desc(), Alert.fired_at.desc())
                .limit(limit)
            )
            return list(rows.all()), total or 0

    # ------------------------------------------------------------- rules
    async def rules(self) -> list[AlertRule]:
        """Every rule."""
        async with self.store.session() as session:
            return list((await session.scalars(select(AlertRule))).all())

    async def rule(self, name: str) -> AlertRule:
        """One rule; NotFoundError if there is none."""
        async with self.store.session() as session:
            return await _rule(session, name)

    async def add_rule(self, values: dict[str, Any]) -> AlertRule:
        """Store a user rule (``values`` as :func:`~.rules.validate_rule` gives them)."""
        async with self.store.transaction() as session:
            name = values["name"]
            exists = await session.scalar(select(func.count()).where(AlertRule.name == name))
            if exists:
                raise ConflictError(f"rule {name!r} exists already")
            row = AlertRule(**values, builtin=False)
            session.add(row)
        return row

    async def update_rule(self, name: str, values: dict[str, Any], at: datetime) -> AlertRule:
        """Set ``values`` on the rule ``name`` (updated at ``at``)."""
        async with self.store.transaction() as session:
            row = await _rule(session, name)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = at
        return row

    async def delete_rule(self, name: str) -> None:
        """Delete the rule ``name``."""
        async with self.store.transaction() as session:
            await session.delete(await _rule(session, name))

    # ---------------------------------------------------------- channels
    async def channel_names(self) -> set[str]:
        """The names of every channel."""
        async with self.store.session() as session:
            return set((await session.scalars(select(NotificationChannel.name))).all())

    async def channels(self) -> list[NotificationChannel]:
        """Every channel, by name."""
        async with self.store.session() as session:
            query = select(NotificationChannel).order_by(NotificationChannel.name)
            return list((await session.scalars(query)).all())

    async def channel(self, name: str) -> NotificationChannel:
        """One channel; NotFoundError if there is none."""
        async with self.store.session() as session:
            return await _channel(session, name)

    async def channel_exists(self, name: str) -> bool:
        """Whether a channel is called ``name``."""
        async with self.store.session() as session:
            query = select(NotificationChannel.id).where(NotificationChannel.name == name)
            return bool(await session.scalar(query))

    async def add_channel(self, row: NotificationChannel) -> NotificationChannel:
        """Store a new channel; ConflictError if its name is taken."""
        async with self.store.transaction() as session:
            query = select(NotificationChannel.id).where(NotificationChannel.name == row.name)
            if await session.scalar(query):
                raise channel_taken(row.name)
            session.add(row)
        return row

    async def update_channel(self, name: str, **values: Any) -> NotificationChannel:
        """Set ``values`` (columns of :class:`NotificationChannel`) on the channel ``name``."""
        async with self.store.transaction() as session:
            row = await _channel(session, name)
            for key, value in values.items():
                setattr(row, key, value)
        return row

    async def delete_channel(self, name: str) -> None:
        """Remove the channel ``name`` (its deliveries stay)."""
        async with self.store.transaction() as session:
            await session.delete(await _channel(session, name))

    async def deliveries(
        self, channel: str | None, status: str | None, limit: int
    ) -> list[AlertDelivery]:
        """Delivery history, newest first, of ``channel`` with ``status`` (any if None)."""
        stmt = select(AlertDelivery).order_by(AlertDelivery.created_at.desc()).limit(limit)
        if channel:
            stmt = stmt.where(AlertDelivery.channel == channel)
        if status:
            stmt = stmt.where(AlertDelivery.status == status)
        async with self.store.session() as session:
            return list((await session.scalars(stmt)).all())

    # ------------------------------------------- silences and maintenance
    async def periods(self, model: type[P]) -> list[P]:
        """Every silence or every maintenance window (``model``), newest first."""
        async with self.store.session() as session:
            query = select(model).order_by(model.created_at.desc())
            return list((await session.scalars(query)).all())

    async def end_period(self, model: type[P], key: str, now: datetime) -> P:
        """End a silence or maintenance window now; NotFoundError if there is none."""
        async with self.store.transaction() as session:
            row = await session.get(model, key)
            if row is None:
                what = "silence" if model is AlertSilence else "maintenance window"
                raise NotFoundError(f"no {what} {key!r}")
            _end(row, now)
        return row

    # ------------------------------------------------------------ any row
    async def add(self, row: R) -> R:
        """Store a new row (a silence, a window, a delivery to queue)."""
        async with self.store.transaction() as session:
            session.add(row)
        return row
