"""The dashboard's "recent events": fleet operations and observed changes, not sign-ins.

Every sign-in, sign-out and token change is an audit entry, and a team that signs in and out
all day buried the fleet's events under them (issue #12). The dashboard reads the audit log
without those *account* actions and folds them instead into one line per user over the last
:data:`ACCOUNT_PERIOD` ("alice: 3 sign-ins, 1 sign-out"), a bad line when some were failed
sign-ins. The audit page (``/audit``) still lists every entry.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetdeck.server.audit import AuditLog
    from fleetdeck.server.auth.principal import Principal
    from fleetdeck.server.store.models import AuditEntry
    from fleetdeck.server.ui.changes import ChangeFeed

#: Audit actions about people's accounts and sessions rather than the fleet.
ACCOUNT_ACTIONS = ("auth.", "token.")
#: How far back account activity is folded into one line per user.
ACCOUNT_PERIOD = timedelta(hours=24)
#: Account entries read at most for the fold (a flood of failed logins is already folded
#: per window by the audit log, so this bounds the work, not what is counted).
ACCOUNT_ROWS = 1000
_WORDS = {
    ("auth.login", True): ("sign-in", "sign-ins"),
    ("auth.login", False): ("failed sign-in", "failed sign-ins"),
    ("auth.logout", True): ("sign-out", "sign-outs"),
    ("token.create", True): ("token created", "tokens created"),
    ("token.revoke", True): ("token revoked", "tokens revoked"),
}


@dataclass(frozen=True)
class Event:
    """One line of the dashboard's "recent events": an audit entry or an observed change."""

    time: datetime
    kind: str  # audit|change|account
    text: str
    where: str
    level: str
    ref: str | None = None


def _utc(when: datetime) -> datetime:
    # SQLite gives naive datetimes back: they are UTC by the store's convention.
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _count(entry: AuditEntry) -> int:
    """How many attempts an entry stands for (failed logins are folded per window)."""
    if entry.result == "ok":
        return 1
    raw = (entry.detail or {}).get("count", 1)
    return int(raw) if isinstance(raw, int) and raw > 0 else 1


def fold_account_activity(entries: list[AuditEntry], hours: int) -> list[Event]:
    """One event per user: what they did with sessions and tokens, newest first."""
    counts: dict[str, Counter[tuple[str, bool]]] = defaultdict(Counter)
    last: dict[str, datetime] = {}
    for entry in entries:
        counts[entry.actor][(entry.action, entry.result == "ok")] += _count(entry)
        last[entry.actor] = max(last.get(entry.actor, _utc(entry.time)), _utc(entry.time))
    events = []
    for actor, by_kind in counts.items():
        parts = []
        for (action, ok), n in sorted(by_kind.items(), key=lambda kv: (not kv[0][1], kv[0][0])):
            one, many = _WORDS.get((action, ok), (action if ok else f"failed {action}",) * 2)
            parts.append(f"{n} {one if n == 1 else many}")
        bad = any(not ok for _, ok in by_kind)
        text = ", ".join(parts) + f" in {hours}h"
        events.append(Event(last[actor], "account", text, actor, "bad" if bad else "info"))
    events.sort(key=lambda e: e.time, reverse=True)
    return events


async def recent_events(
    audit: AuditLog, feed: ChangeFeed, now: datetime, who: Principal, limit: int = 20
) -> list[Event]:
    """Fleet audit entries, inventory changes and folded account activity, newest first.

    Who signed in when is the audit page's, an admin's: others see only their own line.
    """
    entries, _ = await audit.list(limit=limit, exclude=ACCOUNT_ACTIONS)
    events = [
        Event(
            time=_utc(e.time),
            kind="audit",
            text=f"{e.actor} {e.action}" + ("" if e.result == "ok" else f" — {e.result}"),
            where=e.target,
            level="info" if e.result == "ok" else "bad",
        )
        for e in entries
    ]
    events += [Event(c.time, "change", c.text, c.where, c.level, c.ref) for c in feed.recent(limit)]
    actor = None if who.is_admin else who.username
    accounts = await audit.since(ACCOUNT_ACTIONS, now - ACCOUNT_PERIOD, ACCOUNT_ROWS, actor)
    hours = int(ACCOUNT_PERIOD.total_seconds() // 3600)
    events += fold_account_activity(accounts, hours)
    events.sort(key=lambda e: e.time, reverse=True)
    return events[:limit]
