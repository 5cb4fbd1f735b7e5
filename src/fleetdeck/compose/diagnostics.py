"""Turning validation failures into errors that name the file, the line and the key."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

from fleetdeck.compose.model_base import ComposeModel
from fleetdeck.compose.source import locate
from fleetdeck.compose.values import ComposeValueError
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pydantic import BaseModel, ValidationError
    from pydantic_core import ErrorDetails

    from fleetdeck.compose.source import SourceFile

_KEYLIKE = re.compile(r"^[A-Za-z0-9_.-]+$")


def key_path(path: Sequence[Any]) -> str:
    """``("services", "web", "ports", 0)`` as ``services.web.ports[0]``."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def where(sources: Sequence[SourceFile], path: tuple[Any, ...]) -> str:
    """``FILE:LINE`` of ``path`` in the file that has most of it (the last such file)."""
    best: tuple[int, SourceFile | None, int | None] = (-1, None, None)
    for candidate in sources:
        steps, line = locate(candidate.data, path)
        if steps >= best[0]:
            best = (steps, candidate, line)
    _, found, line = best
    if found is None:
        return "<no file>"
    return f"{found.path}:{line}" if line else str(found.path)


def validation_error(exc: ValidationError, source: SourceFile) -> InvalidInputError:
    """The first problem of ``exc`` as a user-facing error located in ``source``."""
    error = exc.errors()[0]
    loc: list[Any] = list(error["loc"])
    ctx_error = (error.get("ctx") or {}).get("error")
    if isinstance(ctx_error, ComposeValueError):
        loc.extend(ctx_error.subpath)
    steps, line = locate(source.data, tuple(loc))
    # Pydantic adds steps of its own (union members, validator names): keep the file's keys,
    # and after them only what still looks like a key (e.g. a missing required field).
    real = loc[:steps] + [s for s in loc[steps:] if isinstance(s, int) or _KEYLIKE.match(s)]
    place = f"{source.path}:{line}" if line else str(source.path)
    if error["type"] == "extra_forbidden":
        return _unknown_key(place, real)
    message = str(ctx_error) if ctx_error is not None else error["msg"]
    value = error.get("input")
    if error["type"] != "missing" and isinstance(value, str | int | float) and ctx_error is None:
        message += f" (got {value!r})"
    return InvalidInputError(f"{place}: {key_path(real)}: {message}", hint=_type_hint(error))


def _unknown_key(place: str, path: list[Any]) -> InvalidInputError:
    key = str(path[-1]) if path else "?"
    inside = f" in {key_path(path[:-1])}" if len(path) > 1 else " at the top level"
    close = difflib.get_close_matches(key, sorted(_known_keys()), n=1, cutoff=0.75)
    hint = (
        f"did you mean {close[0]!r}?"
        if close
        else "unsupported keys are errors, never ignored: see docs/stacks.md for the supported "
        "keys (x-* keys are free for your own use)"
    )
    return InvalidInputError(f"{place}: unknown key {key!r}{inside}", hint=hint)


def _type_hint(error: ErrorDetails) -> str | None:
    if error["type"] == "missing":
        return "add the key"
    if error["type"] in ("literal_error", "string_pattern_mismatch"):
        return "see docs/stacks.md for the accepted values"
    return None


def _known_keys() -> set[str]:
    keys: set[str] = set()
    stack: list[type[BaseModel]] = [ComposeModel]
    while stack:
        cls = stack.pop()
        keys.update(cls.model_fields)
        stack.extend(cls.__subclasses__())
    return keys
