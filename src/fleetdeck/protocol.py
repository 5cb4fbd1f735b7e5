"""The protocol an agent and the server speak, and which agents a server still works with.

The *protocol version* names the contract between server and agent (the agent routes, their
bodies and answers, the stream messages). It grows by one when a release changes that
contract; the *package version* (``fleetdeck.__version__``) grows with every release. A
server works with agents of its own protocol and of the one before (one release older), so
a fleet is upgraded server first, then agent by agent; an agent older than that is refused
with a reason (its node shows ``incompatible``), never half-served.

History:
    1: v0.1.0, whose agents report their package version but no protocol.
    2: agents report ``agent_protocol`` and ``agent_commit`` in their host information.

Standard library only: the agent imports this module too.
"""

from __future__ import annotations

import re

#: The protocol this code speaks (as an agent, and as a server).
PROTOCOL_VERSION = 2
#: The oldest agent protocol this server still works with: one release older.
OLDEST_AGENT_PROTOCOL = PROTOCOL_VERSION - 1
#: What an agent that reports no protocol speaks (v0.1.0's agents).
UNREPORTED_PROTOCOL = 1

_VERSION = re.compile(
    r"^v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre>a|b|rc)(?P<pre_n>\d+))?"
    r"(?:[-_.]?post(?P<post>\d+))?"
    r"(?:[-_.]?dev(?P<dev>\d+))?"
    r"(?:\+[a-z0-9.]+)?$",
    re.IGNORECASE,
)
_PRE_ORDER = {"a": 0, "b": 1, "rc": 2}


def agent_protocol(reported: int | None) -> int:
    """The protocol of an agent that reported ``reported`` (None: it predates reporting)."""
    return UNREPORTED_PROTOCOL if reported is None else reported


def is_compatible(protocol: int) -> bool:
    """Whether this server works with an agent speaking ``protocol``.

    Newer agents are accepted: an agent one release ahead of its server (upgraded first)
    still speaks the older protocol's routes; it is the server that must not be older.
    """
    return protocol >= OLDEST_AGENT_PROTOCOL


def version_key(version: str) -> tuple[tuple[int, ...], int, int, int, int] | None:
    """A sort key for a PEP 440 version as fleetdeck writes them, or None if not one.

    ``0.2.0.dev0`` < ``0.2.0a1`` < ``0.2.0rc1`` < ``0.2.0`` < ``0.2.0.post1``: a development
    release comes before every other release of its number, as PEP 440 orders them.
    """
    match = _VERSION.match(version.strip())
    if match is None:
        return None
    release = tuple(int(part) for part in match["release"].split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    dev = int(match["dev"]) if match["dev"] is not None else None
    if match["pre"]:
        pre = (_PRE_ORDER[match["pre"].lower()], int(match["pre_n"]))
    elif dev is not None and match["post"] is None:
        pre = (-1, 0)  # a bare .devN sorts before the number's pre-releases
    else:
        pre = (3, 0)
    post = int(match["post"]) if match["post"] is not None else -1
    return (release, pre[0] * 1_000_000 + pre[1], post, dev if dev is not None else 1 << 62, 0)


def is_outdated(agent_version: str | None, server_version: str) -> bool | None:
    """Whether an agent of ``agent_version`` is older than the server (None: unknown).

    An agent that reports no version predates version reporting: outdated. A version that
    cannot be read as one is "unknown" rather than a guess.
    """
    if agent_version is None:
        return True
    agent, server = version_key(agent_version), version_key(server_version)
    if agent is None or server is None:
        return None
    return agent < server
