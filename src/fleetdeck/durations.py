"""Durations as operators type them (``90s``, ``15m``, ``6h``, ``7d``, ``2w``).

Shared by the CLI (``--since``, ``--window``) and the API (``window=7d``) so both accept and
refuse the same text.
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
