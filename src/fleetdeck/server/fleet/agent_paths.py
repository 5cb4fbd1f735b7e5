"""Paths of agent routes, built so that no user value can reach another route.

A value put in a path as it is can change which route it names: an image called
``../containers/ID`` made ``DELETE /v1/images/{ref}`` reach the agent as
``DELETE /v1/containers/ID`` (the HTTP client resolves dot segments). :func:`agent_path`
percent-encodes every segment (``/`` included), so a value is always exactly one segment,
and refuses the segments no encoding can carry (empty, ``.``, ``..``). The agent refuses a
segment holding ``/`` or ``..`` in turn (``fleetdeck.agent.api_support.check_path_segments``).
"""

from __future__ import annotations

from urllib.parse import quote

from fleetdeck.errors import InvalidPathError


def agent_path(*segments: str | int) -> str:
    """``/v1/`` and the segments, each percent-encoded with nothing kept safe.

    Raises:
        InvalidPathError: a segment is empty, ``.`` or ``..``.
    """
    parts: list[str] = []
    for segment in segments:
        text = str(segment)
        if text in ("", ".", ".."):
            raise InvalidPathError(f"{text!r} is not a valid name in a path")
        parts.append(quote(text, safe=""))
    return "/v1/" + "/".join(parts)
