"""The audit log: who did what to which object, when, and whether it worked.

Every mutating route records one entry, also when it fails (``result`` is ``ok`` or
``error: <message>``, or ``error: internal`` for a failure that is not a
:class:`~fleetdeck.errors.FleetdeckError`), and failed logins are recorded too. Each carries
the client's address in ``detail.ip`` (the real client behind a trusted reverse proxy, see
:mod:`fleetdeck.server.forwarded`). Routes wrap
their work in :func:`audited` (the log itself is an ``AuditDep`` of
:mod:`fleetdeck.server.context`), the one way a change is audited (a streamed change hands its
outcome to the stream with :meth:`AuditDraft.later`).

Failed logins come from callers nobody has authenticated, so they are aggregated rather than
written one row each (:meth:`AuditLog.record_failed_login`): one row per username and address
per 15-minute window (aligned to the clock), whose ``detail`` counts the failures
(``{"ip", "count", "last"}``), and at most :data:`FAILED_LOGIN_ROWS_PER_WINDOW` such rows per
window; failures beyond that fold into one ``auth.login`` row with target ``*`` and actor
``-``. A flood, however many usernames and addresses it uses, adds at most 101 rows per window.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, not_, or_, select, true

from fleetdeck.clock import SYSTEM
from fleetdeck.errors import FleetdeckError
from fleetdeck.server.store.models import AuditEntry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

    from fastapi import Request

    from fleetdeck.clock import Clock
    from fleetdeck.server.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
OK = "ok"
#: What a failure that is not a :class:`FleetdeckError` is recorded as (its text may be unsafe).
INTERNAL = "error: internal"
MAX_LIMIT = 1000
LOGIN_ACTION = "auth.login"
#: Failed logins of one username from one address within one window share a row.
FAILED_LOGIN_WINDOW = timedelta(minutes=15)
#: Distinct failed-login rows per window; the rest are counted in one overflow row.
FAILED_LOGIN_ROWS_PER_WINDOW = 100
OVERFLOW_ACTOR = "-"
OVERFLOW_TARGET = "*"


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
        clock: The present, for the failed-login windows.
    """

    def __init__(self, store: Store, clock: Clock = SYSTEM) -> None:
        self._store = store
        self._clock = clock
        # One failed login is folded in at a time, so concurrent ones do not both insert.
        self._failed_login_lock = asyncio.Lock()

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

    async def record_failed_login(self, username: str, ip: str, message: str) -> None:
        """Count a failed login of ``username`` from ``ip`` (aggregated, see the module)."""
        now = self._clock.now()
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        start = now - (now - epoch) % FAILED_LOGIN_WINDOW
        actor, target, result = username[:128], username[:255], f"error: {message}"
        async with self._failed_login_lock, self._store.transaction() as session:
            failed = (
                AuditEntry.action == LOGIN_ACTION,
                AuditEntry.result != OK,
                AuditEntry.time >= start,
            )
            rows = (
                await session.scalars(
                    select(AuditEntry).where(
                        *failed, AuditEntry.target.in_([target, OVERFLOW_TARGET])
                    )
                )
            ).all()
            row = next(
                (r for r in rows if r.actor == actor and (r.detail or {}).get("ip") == ip), None
            )
            if row is None:
                count = await session.scalar(select(func.count()).where(*failed))
                if (count or 0) >= FAILED_LOGIN_ROWS_PER_WINDOW:
                    actor, target, ip = OVERFLOW_ACTOR, OVERFLOW_TARGET, "*"
                    result = "error: failed logins beyond the audit log's cap"
                    row = next((r for r in rows if r.actor == actor and r.target == target), None)
            if row is None:
                detail: dict[str, Any] = {"ip": ip, "count": 1, "last": now.isoformat()}
                session.add(
                    AuditEntry(
                        time=now,
                        actor=actor,
                        action=LOGIN_ACTION,
                        target=target,
                        result=result,
                        detail=detail,
                    )
                )
            else:
                detail = dict(row.detail or {})
                detail["count"] = int(detail.get("count", 1)) + 1
                detail["last"] = now.isoformat()
                row.detail = detail  # a new dict: JSON columns track assignment, not mutation
        log.info("audit: failed login %s from %s", username, ip)

    async def since(
        self, prefixes: Sequence[str], start: datetime, limit: int, actor: str | None = None
    ) -> list[AuditEntry]:
        """Entries from ``start`` on whose action starts with one of ``prefixes``, newest first.

        At most ``limit`` (and :data:`MAX_LIMIT`) rows: the dashboard folds these into one
        line per user, the audit page has them all. ``actor``: only that user's entries.
        """
        matches = or_(*(AuditEntry.action.startswith(p) for p in prefixes))
        query = (
            select(AuditEntry)
            .where(matches, AuditEntry.time >= start)
            .where(AuditEntry.actor == actor if actor is not None else true())
            .order_by(AuditEntry.id.desc())
            .limit(max(0, min(limit, MAX_LIMIT)))
        )
        async with self._store.session() as session:
            return list((await session.scalars(query)).all())

    async def list(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        exclude: Sequence[str] = (),
    ) -> tuple[list[AuditEntry], int]:
        """Entries newest first, filtered by exact actor/action/target; and the total match.

        ``action`` ending in ``.`` or ``*`` matches a prefix (``container.`` → every
        container action). ``exclude`` leaves out actions starting with any of its
        prefixes (the dashboard's events leave out sign-ins: ``("auth.", "token.")``).
        """
        query = select(AuditEntry)
        for prefix in exclude:
            query = query.where(not_(AuditEntry.action.startswith(prefix)))
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


def failure_text(exc: BaseException) -> str:
    """The result recorded for a change that raised ``exc``: never the text of an unknown error.

    A :class:`FleetdeckError`'s message is written for users (``error: <message>``); any
    other exception may carry paths, SQL or secrets, so it is recorded as ``error: internal``.
    """
    if isinstance(exc, FleetdeckError):
        return f"error: {exc.message}"
    return INTERNAL


class AuditDraft(dict[str, Any]):
    """The entry :func:`audited` is about to write: its detail (the dict itself) and target.

    The block may fill in the detail, change :attr:`target` once it knows the object (an
    enrolled agent's ``env/node``), or hand the outcome to a stream with :meth:`later`.
    An entry is written once: the first result wins.
    """

    def __init__(
        self, audit: AuditLog, actor: str, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        super().__init__(detail)
        self.target = target
        self._audit = audit
        self._actor = actor
        self._action = action
        self._later = False
        self._written = False

    async def write(self, result: str) -> None:
        """Record the entry with ``result`` (``ok`` or ``error: …``); later calls do nothing."""
        if self._written:
            return
        self._written = True
        await self._audit.record(self._actor, self._action, self.target, result, dict(self) or None)

    def later(self) -> Callable[[str], Awaitable[None]]:
        """Leave the outcome to a stream: the callable returned records its result.

        The block's success then writes nothing; a failure of the block still does.
        """
        self._later = True
        return self.write


@asynccontextmanager
async def audited(
    request: Request,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> AsyncIterator[AuditDraft]:
    """Record the block's outcome: ``ok``, or a failure (:func:`failure_text`) and re-raise.

    The one way a change is audited. Any exception fails the entry: a
    :class:`FleetdeckError` with its message, anything else as ``error: internal`` (its text
    may hold secrets). Yields the :class:`AuditDraft`, whose detail the block may fill in
    before it is written::

        async with audited(request, who.username, "user.create", body.username) as detail:
            detail["role"] = body.role
            ...
    """
    # Imported here: the context names AuditLog, so a module-level import would be a cycle.
    from fleetdeck.server.context import context_of

    audit: AuditLog = context_of(request).audit
    # Who asked from where: the real client, also behind a trusted reverse proxy.
    where = {"ip": request.client.host} if request.client is not None else {}
    draft = AuditDraft(audit, actor, action, target, {**(detail or {}), **where})
    try:
        yield draft
    except Exception as exc:
        await draft.write(failure_text(exc))
        raise
    if not draft._later:
        await draft.write(OK)


async def audited_call(
    request: Request,
    actor: str,
    action: str,
    target: str,
    work: Awaitable[T],
    detail: dict[str, Any] | None = None,
) -> T:
    """Await ``work`` inside :func:`audited` and return its result (for one-call changes)."""
    async with audited(request, actor, action, target, detail):
        return await work
