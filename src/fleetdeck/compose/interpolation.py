"""Variable interpolation in Compose values: ``$VAR``, ``${VAR}`` and the shell-like forms.

Supported, as in the Compose specification::

    $VAR  ${VAR}            value, or "" when unset (the caller is told, to warn)
    ${VAR:-default}         default when VAR is unset or empty
    ${VAR-default}          default when VAR is unset
    ${VAR:?message}         error when VAR is unset or empty
    ${VAR?message}          error when VAR is unset
    ${VAR:+alternative}     alternative when VAR is set and non-empty, else ""
    ${VAR+alternative}      alternative when VAR is set, else ""
    $$                      a literal "$"

Defaults, messages and alternatives may themselves hold variables (``${A:-${B:-x}}``); they
are only evaluated when used, so an unused ``${B:?…}`` is not an error.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A value's interpolation failed; ``required`` tells a missing variable from bad syntax."""

    def __init__(self, message: str, *, required: bool = False) -> None:
        super().__init__(message)
        self.required = required


def interpolate(
    text: str,
    lookup: Callable[[str], str | None],
    unset: Callable[[str], None] | None = None,
) -> str:
    """Substitute the variables of ``text``.

    Args:
        text: The raw value.
        lookup: Returns a variable's value, or None when it is unset.
        unset: Called with the name of each variable used bare (``$VAR``/``${VAR}``) while unset,
            so the caller can warn as Compose does.

    Raises:
        InterpolationError: Bad syntax, or a ``?`` form whose variable is missing.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        dollar = text.find("$", i)
        if dollar < 0:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        nxt = text[dollar + 1 : dollar + 2]
        if nxt == "$":
            out.append("$")
            i = dollar + 2
        elif nxt == "{":
            value, i = _braced(text, dollar + 2, lookup, unset)
            out.append(value)
        elif match := _NAME.match(text, dollar + 1):
            out.append(_plain(match.group(), lookup, unset))
            i = match.end()
        else:
            # A lone "$" (before a space, digit or the end) stays as written.
            out.append("$")
            i = dollar + 1
    return "".join(out)


def _plain(
    name: str, lookup: Callable[[str], str | None], unset: Callable[[str], None] | None
) -> str:
    value = lookup(name)
    if value is None:
        if unset is not None:
            unset(name)
        return ""
    return value


def _braced(
    text: str,
    start: int,
    lookup: Callable[[str], str | None],
    unset: Callable[[str], None] | None,
) -> tuple[str, int]:
    """Evaluate the ``${…}`` whose body starts at ``start``; return it and the index after ``}``."""
    match = _NAME.match(text, start)
    if not match:
        raise InterpolationError(f"invalid interpolation format in {text!r}: bad variable name")
    name, pos = match.group(), match.end()
    if text.startswith("}", pos):
        return _plain(name, lookup, unset), pos + 1
    operator = next((op for op in _OPERATORS if text.startswith(op, pos)), None)
    if pos >= len(text):
        raise InterpolationError(f"invalid interpolation format in {text!r}: missing '}}'")
    if operator is None:
        raise InterpolationError(
            f"invalid interpolation format in {text!r}: unexpected {text[pos : pos + 1]!r} "
            f"after ${{{name}"
        )
    word_start = pos + len(operator)
    end = _closing_brace(text, word_start)
    word = text[word_start:end]
    value = lookup(name)
    # The ":" forms treat an empty value as missing; the others only an unset one.
    present = bool(value) if operator.startswith(":") else value is not None
    kind = operator[-1]
    if kind == "-":
        result = value or "" if present else interpolate(word, lookup, unset)
    elif kind == "+":
        result = interpolate(word, lookup, unset) if present else ""
    elif present:
        result = value or ""
    else:
        message = interpolate(word, lookup, unset) if word else ""
        raise InterpolationError(
            f"required variable {name} is missing a value" + (f": {message}" if message else ""),
            required=True,
        )
    return result, end + 1


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing a ``${`` whose word starts at ``start`` (nesting allowed)."""
    depth = 0
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise InterpolationError(f"invalid interpolation format in {text!r}: missing '}}'")


def variable_names(text: str) -> list[str]:
    """Every variable ``text`` refers to, defaults and alternatives included, in order.

    Unlike :func:`interpolate` this does not depend on which variables are set: it names
    what *could* be read, so a caller can send exactly the variables a file uses (and no
    other part of its environment). Bad syntax names nothing more; the loader reports it.
    """
    names: list[str] = []
    i = 0
    while (dollar := text.find("$", i)) >= 0:
        nxt = text[dollar + 1 : dollar + 2]
        if nxt == "$":
            i = dollar + 2
        elif nxt == "{":
            match = _NAME.match(text, dollar + 2)
            if not match:
                return names
            names.append(match.group())
            i = match.end()  # the word after an operator is scanned by the loop itself
        elif match := _NAME.match(text, dollar + 1):
            names.append(match.group())
            i = match.end()
        else:
            i = dollar + 1
    return list(dict.fromkeys(names))


def interpolation_error(where: str, key: str, exc: InterpolationError) -> InvalidInputError:
    """The user-facing error for a failed interpolation at ``where`` (``FILE:LINE``)."""
    hint = (
        "set it in the environment, in .env or in a file given with --env-file"
        if exc.required
        else "write $$ for a literal dollar sign"
    )
    return InvalidInputError(f"{where}: {key}: {exc}", hint=hint)
