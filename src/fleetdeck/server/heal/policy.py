"""Heal policies: the fields, their defaults and reasons, and how layers combine.

A container's policy is built from layers, each setting some fields, the more specific ones
last: the built-in defaults, the fleet-wide default (API), the stack's ``x-fleetdeck.autoheal``
then its API policy, the service's ``x-fleetdeck.autoheal`` then its API policy, and the
container's own labels (``fleetdeck.autoheal=true`` enables; ``fleetdeck.autoheal.FIELD=VALUE``
sets one field). The label ``fleetdeck.autoheal=true`` alone heals a container with the
default policy, stack or not: the label willfarrell/autoheal's users already put on theirs.

Every layer is validated where it enters (an API body, a deploy's Compose file, a label):
a bad value is an :class:`~fleetdeck.errors.InvalidInputError` naming the field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from fleetdeck.durations import parse_seconds
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: ``fleetdeck.autoheal=true|false`` on a container; ``fleetdeck.autoheal.FIELD`` sets a field.
LABEL = "fleetdeck.autoheal"
LABEL_PREFIX = LABEL + "."
#: Fields given as durations (seconds or ``10s``/``5m``).
DURATION_FIELDS = ("grace", "backoff", "backoff_max", "reset_after", "window", "stop_timeout")
#: The longest stop timeout: a restart that waits longer is no restart.
MAX_STOP_TIMEOUT_S = 300.0
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class HealPolicy:
    """A whole policy (every field set); the defaults are the built-in layer.

    The defaults' reasons are in docs/healing.md: Docker already waited ``retries`` failed
    checks before it said "unhealthy" (so no grace by default), a second restart only after
    10 s and doubling to 5 min (a database that needs a while is not hammered), the streak
    forgotten after 10 healthy minutes, and 5 restarts within 15 minutes mean restarting does
    not help: a person must look.
    """

    enabled: bool = False
    grace: float = 0.0
    backoff: float = 10.0
    backoff_max: float = 300.0
    reset_after: float = 600.0
    max_restarts: int = 5
    window: float = 900.0
    stop_timeout: float = 10.0

    def delay(self, streak: int) -> float:
        """Seconds after the last restart before the next one, ``streak`` restarts in.

        The first restart of a streak is at once; then ``backoff``, doubling, capped at
        ``backoff_max`` (10 s, 20 s, 40 s … 5 min with the defaults).
        """
        if streak <= 0:
            return 0.0
        return float(min(self.backoff * 2 ** (streak - 1), self.backoff_max))

    def settings(self) -> dict[str, Any]:
        """Every field by name (the API's ``HealPolicySettings``)."""
        return asdict(self)


FIELDS = tuple(f.name for f in fields(HealPolicy))


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInputError(f"{where}: enabled must be true or false, not {value!r}")


def _int(value: Any, where: str) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise InvalidInputError(f"{where}: max_restarts must be a whole number") from None
    if isinstance(number, bool) or not 1 <= number <= 100:
        raise InvalidInputError(f"{where}: max_restarts must be between 1 and 100")
    return number


def check_layer(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A layer's fields validated and normalised (durations as seconds); None values dropped.

    Raises:
        InvalidInputError: an unknown field or a bad value, naming ``where`` and the field.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if key not in FIELDS:
            raise InvalidInputError(
                f"{where}: unknown autoheal field {key!r}", hint=f"fields: {', '.join(FIELDS)}"
            )
        if key == "enabled":
            out[key] = _bool(value, where)
        elif key == "max_restarts":
            out[key] = _int(value, where)
        else:
            seconds = parse_seconds(value, f"{where}: {key}")
            if key == "stop_timeout" and seconds is not None and seconds > MAX_STOP_TIMEOUT_S:
                raise InvalidInputError(f"{where}: stop_timeout must be at most 5 minutes")
            out[key] = seconds
    return out


def combine(layers: Iterable[Mapping[str, Any]]) -> HealPolicy:
    """The built-in defaults with each layer's fields over them, in order.

    Raises:
        InvalidInputError: the result has ``backoff`` above ``backoff_max``.
    """
    policy = HealPolicy()
    for layer in layers:
        policy = replace(policy, **{k: v for k, v in layer.items() if k in FIELDS})
    if policy.backoff > policy.backoff_max:
        raise InvalidInputError(
            f"backoff ({policy.backoff:g}s) is above backoff_max ({policy.backoff_max:g}s)"
        )
    return policy


def label_layer(labels: Mapping[str, str]) -> dict[str, Any]:
    """The layer a container's ``fleetdeck.autoheal*`` labels make (empty if it has none).

    Raises:
        InvalidInputError: a label with a bad value (the container's view shows why).
    """
    raw: dict[str, Any] = {}
    if LABEL in labels:
        raw["enabled"] = labels[LABEL]
    for key, value in labels.items():
        if key.startswith(LABEL_PREFIX):
            raw[key[len(LABEL_PREFIX) :]] = value
    return check_layer(raw, "label") if raw else {}


def compose_layer(value: Any, where: str) -> dict[str, Any]:
    """The layer of an ``x-fleetdeck: {autoheal: …}`` value: a mapping of fields, or a bool.

    Raises:
        InvalidInputError: anything else, or a bad field.
    """
    if isinstance(value, bool):
        return {"enabled": value}
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where}: x-fleetdeck.autoheal must be a mapping or a boolean")
    layer = check_layer(value, where)
    # Writing a policy down in the file means wanting it, unless it says otherwise.
    layer.setdefault("enabled", True)
    return layer
