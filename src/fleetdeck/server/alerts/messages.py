"""The text of notifications: one message per group of alerts (same rule, environment, event).

The title names the event, rule and how many alerts; the body has one line per alert with
its summary and its labels as ``key=value`` (so a webhook receiver or a mail filter can
match on them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetdeck.server.alerts.state import Event
    from fleetdeck.server.store.models_alerts import Alert

_WORD = {"firing": "FIRING", "repeat": "STILL FIRING", "resolved": "RESOLVED", "test": "TEST"}


def group_message(
    event: Event, rule: str, environment: str, alerts: list[Alert]
) -> tuple[str, str]:
    """(title, body) of one notification about ``alerts`` (all of ``rule`` in ``environment``)."""
    where = f" in {environment}" if environment else ""
    count = f" ({len(alerts)} alerts)" if len(alerts) > 1 else ""
    severity = alerts[0].severity if alerts else "info"
    title = f"[{_WORD[event.value]}] {rule}{where}{count} [{severity}]"
    lines = []
    for alert in alerts:
        labels = " ".join(f"{k}={v}" for k, v in sorted((alert.labels or {}).items()))
        lines.append(f"- {alert.summary}\n  rule={alert.rule} {labels} alert={alert.id}")
    return title, "\n".join(lines)


def test_message(channel: str) -> tuple[str, str]:
    """(title, body) of the "send test notification" action."""
    return (
        f"[TEST] fleetdeck notification channel {channel}",
        f"This is a test notification from fleetdeck to channel {channel}. "
        "If you read this, alerts will reach you here.",
    )
