"""The audit log: who did what to which object, when, and whether it worked.

Every mutating route records one entry, also when it fails (``result`` is ``ok`` or
``error: <message>``), and failed logins are recorded too. Routes either call
``await request.app.state.audit.record(...)`` or wrap their work in :func:`audited`.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from fleetdeck.errors import FleetdeckError
from fleetdeck.server.store.models import AuditEntry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import Request

    from fleetdeck.server.store import Store

log = logging.getLogger(__name__)
OK = "ok"
MAX_LIMIT = 1000


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the API serves it (``AuditEntry`` in the contract)."""
    return {
        "id": entry.id,
        "time": entry.time.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "result": entry.result,
        "detail": entry.detail,
    }


class AuditLog:
    """Writes and reads audit entries.

    Args:
        store: Where entries are kept.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(
        self,
        actor: str,
        action: str,
        target: str,
        result: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Add one entry, e.g. ``record("alice", "user.create", "bob", "ok", {"role": "viewer"})``.

        ``action`` is ``<resource>.<verb>`` (``container.stop``); ``result`` is ``ok`` or
        ``error: <message>``. Its own transaction, so it is kept even if the caller's work
        rolled back.
        """
        async with self._store.transaction() as session:
            session.add(
                AuditEntry(
                    actor=actor[:128],
                    action=action[:64],
                    target=target[:255],
                    result=result,
                    detail=detail,
                )
            )
        log.info("audit: %s %s %s -> %s", actor, action, target, result)

    async def list(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> tuple[list[AuditEntry], int]:
        """Entries newest first, filtered by exact actor/action/target; and the total match.

        ``action`` ending in ``.`` or ``*`` matches a prefix (``container.`` → every
        container action).
        """
        query = select(AuditEntry)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if action is not None:
            if action.endswith(("*", ".")):
                query = query.where(AuditEntry.action.startswith(action.rstrip("*")))
            else:
                query = query.where(AuditEntry.action == action)
        if target is not None:
            query = query.where(AuditEntry.target == target)
        async with self._store.session() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            page = await session.scalars(
                query.order_by(AuditEntry.id.desc())
                .limit(max(0, min(limit, MAX_LIMIT)))
                .offset(max(0, offset))
            )
            return list(page.all()), total or 0


@asynccontextmanager
async def audited(
    request: Request,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Record the block's outcome: ``ok``, or ``error: <message>`` and re-raise.

    Yields the detail dict, which the block may fill in before it is written::

        async with audited(request, who.username, "user.create", body.username) as detail:
            detail["role"] = body.role
            ...
    """
    audit: AuditLog = request.app.state.audit
    detail = dict(detail or {})
    try:
        yield detail
    except FleetdeckError as exc:
        await audit.record(actor, action, target, f"error: {exc.message}", detail or None)
        raise
    except Exception:
        await audit.record(actor, action, target, "error: internal", detail or None)
        raise
    await audit.record(actor, action, target, OK, detail or None)
