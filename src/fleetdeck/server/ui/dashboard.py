"""The data behind the dashboard and the containers table (built from the in-memory fleet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.fleet.inventory import SORT_KEYS, ContainerQuery
from fleetdeck.server.routes.events import fleet_summary

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.ui.changes import ChangeFeed
    from fleetdeck.types import Container

PAGE_SIZES = (25, 50, 100, 250)
ATTENTION_LIMIT = 15


@dataclass(frozen=True)
class Event:
    """One line of the dashboard's "recent events": an audit entry or an observed change."""

    time: datetime
    kind: str  # audit|change
    text: str
    where: str
    level: str
    ref: str | None = None


def attention_rank(c: Container) -> int:
    """How urgently a container needs a look (0 = most): unhealthy and restarting first."""
    if c.health == "unhealthy" or c.state in ("restarting", "dead"):
        return 0
    if c.state in ("exited", "created", "paused"):
        return 1
    if c.health == "starting":
        return 2
    return 3


def needing_attention(fleet: Fleet) -> list[Container]:
    """Containers that are not plainly running and healthy, worst first."""
    items, _ = fleet.inventory.containers(ContainerQuery(limit=5000))
    flagged = [c for c in items if attention_rank(c) < 3]
    flagged.sort(key=lambda c: (attention_rank(c), c.environment, c.node, c.name))
    return flagged[:ATTENTION_LIMIT]


async def recent_events(audit: AuditLog, feed: ChangeFeed, limit: int = 20) -> list[Event]:
    """Audit entries and inventory changes, merged newest first."""
    entries, _ = await audit.list(limit=limit)
    # SQLite gives naive datetimes back: they are UTC by the store's convention.
    events = [
        Event(
            time=e.time if e.time.tzinfo else e.time.replace(tzinfo=UTC),
            kind="audit",
            text=f"{e.actor} {e.action}" + ("" if e.result == "ok" else f" — {e.result}"),
            where=e.target,
            level="info" if e.result == "ok" else "bad",
        )
        for e in entries
    ]
    events += [Event(c.time, "change", c.text, c.where, c.level, c.ref) for c in feed.recent(limit)]
    events.sort(key=lambda e: e.time, reverse=True)
    return events[:limit]


def dashboard_data(fleet: Fleet) -> dict[str, Any]:
    """Environments, counts and the containers needing attention."""
    return {
        "environments": fleet.views(),
        "summary": fleet_summary(fleet),
        "attention": needing_attention(fleet),
        "version": fleet.inventory.version,
    }


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name) or ""
    try:
        return int(raw) if raw else default
    except ValueError:
        raise InvalidInputError(f"{name} must be a number, not {raw!r}") from None


def container_query(params: Mapping[str, str]) -> ContainerQuery:
    """The :class:`ContainerQuery` of the containers page's query string."""
    sort = params.get("sort") or "name"
    limit = _int(params, "limit", 50)
    return ContainerQuery(
        environment=params.get("environment") or None,
        node=params.get("node") or None,
        state=params.get("state") or None,
        health=params.get("health") or None,
        stack=params.get("stack") or None,
        name=(params.get("q") or "").strip() or None,
        labels=tuple(x for x in [(params.get("label") or "").strip()] if x),
        sort=sort if sort in SORT_KEYS else "name",
        descending=params.get("order") == "desc",
        limit=limit if limit in PAGE_SIZES else 50,
        offset=max(0, _int(params, "offset", 0)),
    ).validate()


def ports_text(c: Container) -> str:
    """Published ports as Docker prints them (``8080->80/tcp``)."""
    out = []
    for p in c.ports:
        if p.public_port:
            out.append(f"{p.public_port}->{p.private_port}/{p.protocol}")
        else:
            out.append(f"{p.private_port}/{p.protocol}")
    return ", ".join(sorted(set(out)))
