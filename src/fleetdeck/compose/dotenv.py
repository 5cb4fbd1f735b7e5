r"""Reading ``.env`` files (the project's ``.env``, ``--env-file`` and services' ``env_file``).

The format is Compose's: ``KEY=VALUE`` lines, an optional ``export`` prefix, ``#`` comments
(whole-line, or after an unquoted value following a space), single-quoted values taken
literally, double-quoted values with ``\\n``-style escapes, and interpolation of earlier
variables in unquoted and double-quoted values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fleetdeck.compose.interpolation import InterpolationError, interpolate, interpolation_error
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from fleetdeck.compose.files import ProjectFiles

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=\s*(.*?))?\s*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$$"}


def read_env_file(
    path: Path,
    lookup: Callable[[str], str | None] | None = None,
    files: ProjectFiles | None = None,
) -> dict[str, str | None]:
    """The variables of an env file, in file order.

    Args:
        path: The file.
        lookup: Resolves variables the values refer to that the file does not define itself
            (the file's own earlier variables come first).
        files: Where to read it (see :mod:`fleetdeck.compose.files`); the local disk if None.

    Raises:
        InvalidInputError: The file cannot be read, or a line is malformed (named by line,
            never quoted: an error must not reveal what a file holds).
    """
    from fleetdeck.compose.files import LocalFiles

    try:
        text = (files or LocalFiles()).read(path, "env file").decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"env file {path} is not UTF-8 text", hint="save it as UTF-8"
        ) from None
    result: dict[str, str | None] = {}

    def resolve(name: str) -> str | None:
        if name in result:
            return result[name]
        return lookup(name) if lookup else None

    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise InvalidInputError(
                f"{path}:{number}: invalid line in env file (not KEY=VALUE)",
                hint="write KEY=VALUE, a comment starting with #, or an empty line",
            )
        key, raw = match.group(1), match.group(2)
        if raw is None:
            # A bare KEY takes its value from the environment, as `environment: [KEY]` does.
            result[key] = lookup(key) if lookup else None
            continue
        try:
            result[key] = _value(raw, resolve)
        except InterpolationError as exc:
            raise interpolation_error(f"{path}:{number}", key, exc) from exc
    return result


def _value(raw: str, resolve: Callable[[str], str | None]) -> str:
    if raw.startswith("'"):
        end = raw.find("'", 1)
        return raw[1:end] if end > 0 else raw[1:]
    if raw.startswith('"'):
        body, _ = _double_quoted(raw[1:])
        return interpolate(body, resolve)
    comment = re.search(r"\s#", raw)
    if comment:
        raw = raw[: comment.start()]
    return interpolate(raw.strip(), resolve)


def _double_quoted(raw: str) -> tuple[str, int]:
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw):
            out.append(_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i
