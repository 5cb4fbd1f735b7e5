"""Silences (label matchers with an expiry) and maintenance windows (per environment).

A matcher is ``NAME=VALUE``, ``NAME!=VALUE``, ``NAME=~REGEX`` or ``NAME!~REGEX`` (the regex
must match the whole value), over an alert's labels plus ``rule`` and ``severity``. A
silence holds back every alert that matches all its matchers between ``starts_at`` and
``ends_at``. A maintenance window holds back every alert of its environment: the worker an
operator switches off on purpose pages nobody. Held-back alerts are still tracked and shown
(with ``suppressed`` saying why); they resolve without a notification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from datetime import datetime

    from fleetdeck.server.store.models_alerts import Alert, AlertSilence, MaintenanceWindow

_MATCHER_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)(!=|=~|!~|=)(.*)$")


@dataclass(frozen=True)
class Matcher:
    """One parsed matcher."""

    name: str
    op: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Parse ``NAME OP VALUE``; InvalidInputError for anything else or a bad regex."""
        match = _MATCHER_RE.match(text.strip())
        if match is None:
            raise InvalidInputError(
                f"bad matcher {text!r}", hint="use NAME=VALUE, NAME!=VALUE, NAME=~RE or NAME!~RE"
            )
        name, op, value = match.groups()
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise InvalidInputError(f"bad regular expression in {text!r}: {exc}") from None
        return cls(name, op, value)

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


def parse_matchers(texts: list[str]) -> list[str]:
    """Validate matchers (at least one) and return them normalised."""
    if not texts:
        raise InvalidInputError(
            "a silence needs at least one matcher", hint="e.g. rule=host-cpu-high"
        )
    parsed = [Matcher.parse(t) for t in texts]
    return [f"{m.name}{m.op}{m.value}" for m in parsed]


def alert_labels(alert: Alert) -> dict[str, str]:
    """An alert's labels for matching: its own plus ``rule`` and ``severity``."""
    return {**{k: str(v) for k, v in (alert.labels or {}).items()}, "rule": alert.rule,
            "severity": alert.severity}  # fmt: skip


def is_active(starts_at: datetime, ends_at: datetime, now: datetime) -> bool:
    """Whether a silence or window is in force at ``now``."""
    return starts_at <= now < ends_at


def suppression(
    alert: Alert,
    silences: list[AlertSilence],
    windows: list[MaintenanceWindow],
    now: datetime,
) -> str | None:
    """Why ``alert``'s notifications are held back now (``maintenance:ENV``, ``silence:ID``)."""
    environment = (alert.labels or {}).get("environment")
    for window in windows:
        if window.environment == environment and is_active(window.starts_at, window.ends_at, now):
            return f"maintenance:{window.environment}"
    labels = alert_labels(alert)
    for silence in silences:
        if not is_active(silence.starts_at, silence.ends_at, now):
            continue
        if all(Matcher.parse(m).matches(labels) for m in silence.matchers):
            return f"silence:{silence.id}"
    return None
