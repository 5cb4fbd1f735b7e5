"""Durations as operators type them (``90s``, ``15m``, ``6h``, ``7d``, ``2w``).

Shared by the CLI (``--since``, ``--window``) and the API (``window=7d``) so both accept and
refuse the same text. Alert rules and silences also take compound forms (``1h30m``) and
plain seconds (:func:`parse_seconds`), and print them back (:func:`format_duration`).
"""

from __future__ import annotations

import re
from datetime import timedelta

from fleetdeck.errors import InvalidInputError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``6h``, ``7d``, ``2w`` as a timedelta, else InvalidInputError."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise InvalidInputError(f"bad duration {text!r}", hint="use e.g. 30s, 15m, 6h, 7d")
    return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])


_COMPOUND_PART = re.compile(r"\d+(?:\.\d+)?[smhdw]")
#: Longest ``for``, ``window``, ``repeat`` or silence a rule or silence may have.
MAX_DURATION_S = 30 * 86400.0


def parse_seconds(value: str | float | None, field: str) -> float | None:
    """``90``, ``"90s"``, ``"5m"``, ``"1h30m"``, ``"2d"`` as seconds (None stays None).

    Raises:
        InvalidInputError: Naming ``field``, for text that is no duration or is out of range.
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        parts = _COMPOUND_PART.findall(text)
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
        elif not parts or "".join(parts) != text:
            raise InvalidInputError(
                f"bad duration {value!r} for {field}", hint="use e.g. 30s, 5m, 1h30m or seconds"
            )
        else:
            seconds = sum(parse_duration(p).total_seconds() for p in parts)
    if not 0 <= seconds <= MAX_DURATION_S:
        raise InvalidInputError(f"{field} must be between 0 and 30 days")
    return seconds


def format_duration(seconds: float | None) -> str:
    """Seconds as ``1h30m`` (the short form people type); "" for None."""
    if seconds is None:
        return ""
    total = int(round(seconds))
    if total == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts)
