"""How the host rollout names a replica and a failed healthcheck in its progress and errors.

A rolling update retires an old replica by renaming it ``<id12>_NAME`` and a new one may take
``NAME`` right after (stop-first at once, start-first from the second batch on), so "started
shop-web-1 … stopped shop-web-1" would not say which is which: every line about a replica of
a rollout says ``new`` or ``old``, an old one with its short id, a new one with the short id
of the replica it replaces. A healthcheck that failed is reported with what it printed last
(Docker's ``State.Health.Log``), bounded: that is usually the reason itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: At most this many characters of a healthcheck's output go into a message.
HEALTH_OUTPUT_MAX = 300
#: Docker keeps a container's id in 64 hex digits; messages and events show the first 12.
SHORT_ID = 12


def short_id(cid: str | None) -> str | None:
    """The 12-digit form of a container id (as ``docker ps`` shows it)."""
    return cid[:SHORT_ID] if cid else None


@dataclass(frozen=True)
class Replica:
    """One replica as progress names it.

    Attributes:
        name: Its ``STACK-SERVICE-N`` name (an old one's as it was before it retired).
        role: ``new`` (made by this deploy), ``old`` (being replaced) or None (neither: a
            replica kept, or one of a stack being created or removed).
        cid: Its container id, once it has one.
        replaces: A new replica's predecessor's container id, when it takes one's place.
    """

    name: str
    role: str | None = None
    cid: str | None = None
    replaces: str | None = None

    @property
    def text(self) -> str:
        """``new shop-web-1``, ``old shop-web-1 (abc123456789)`` or just the name."""
        if self.role == "old":
            return f"old {self.name} ({short_id(self.cid)})" if self.cid else f"old {self.name}"
        if self.role == "new" and self.replaces:
            return f"new {self.name}"
        return self.name

    @property
    def succession(self) -> str:
        """`` (replaces abc123456789)`` for a new replica that takes an old one's place."""
        return f" (replaces {short_id(self.replaces)})" if self.replaces else ""

    def fields(self) -> dict[str, Any]:
        """The progress event's replica keys (see :class:`~.plan.ProgressEvent`)."""
        return {
            "replica": self.role,
            "container_id": short_id(self.cid),
            "replaces": short_id(self.replaces),
        }


def last_health_check(state: dict[str, Any]) -> tuple[int | None, str] | None:
    """The newest healthcheck run of an inspect's ``State``: (exit code, output), or None."""
    log = (state.get("Health") or {}).get("Log") or []
    if not isinstance(log, list) or not log or not isinstance(log[-1], dict):
        return None
    entry = log[-1]
    code = entry.get("ExitCode")
    return (code if isinstance(code, int) else None), str(entry.get("Output") or "")


def health_reason(check: tuple[int | None, str] | None) -> str:
    """``exit 1: db is down`` from the last run: one line, printable, at most ~300 characters.

    The output is a program's, so anything may be in it: line breaks and runs of spaces
    become one space, other control characters are dropped, and a long one is cut with
    ``…``. Empty when there was no run yet.
    """
    if check is None:
        return ""
    code, output = check
    text = " ".join("".join(ch for ch in output if ch.isprintable() or ch.isspace()).split())
    if len(text) > HEALTH_OUTPUT_MAX:
        text = text[: HEALTH_OUTPUT_MAX - 1] + "…"
    head = f"exit {code}" if code is not None else "no exit code"
    return f"{head}: {text}" if text else f"{head}, no output"
