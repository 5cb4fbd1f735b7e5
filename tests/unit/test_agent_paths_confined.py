"""No agent path is written outside the typed agent client (issue 13).

Every server→agent call goes through :class:`fleetdeck.server.fleet.agent_client.AgentClient`,
one method per agent route; the agent declares its own routes in ``fleetdeck/agent/``. A
string literal that starts with ``/v1/`` anywhere else (plain, f-string, or an f-string's
``{base}/v1/…``) is a call that skipped the client: it would not move to another transport,
nor get the client's percent-encoding of user values.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "fleetdeck"
#: Where agent paths may be written: the agent's own routes, and the client.
ALLOWED = (PACKAGE / "agent", PACKAGE / "server" / "fleet" / "agent_client.py")
#: A string token that starts with /v1/ (any prefix, any quotes), or ``}/v1/`` in an f-string.
AGENT_PATH = re.compile(r"""^[rRbBuUfF]*("{3}|'{3}|"|')/v1/|\}/v1/""")


def _allowed(path: Path) -> bool:
    return any(path == allowed or allowed in path.parents for allowed in ALLOWED)


def agent_path_literals(source: str) -> list[tuple[int, str]]:
    """(line, token) of every string literal in ``source`` that writes an agent path."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING and AGENT_PATH.search(token.string):
            found.append((token.start[0], token.string))
    return found


def test_the_pattern_finds_every_form() -> None:
    source = (
        'a = "/v1/images"\n'
        "b = '/v1/x'\n"
        'c = f"/v1/containers/{cid}"\n'
        'd = f"{base}/v1/info"\n'
        'e = """/v1/doc"""\n'
    )
    assert [line for line, _ in agent_path_literals(source)] == [1, 2, 3, 4, 5]
    assert agent_path_literals('x = "/api/v1/images"\ny = "see ``GET /v1/info``"\n') == []


def test_no_agent_path_outside_the_agent_client() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not _allowed(path)
        for line, text in agent_path_literals(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "agent paths outside AgentClient:\n" + "\n".join(offenders)


def test_the_allowed_places_exist() -> None:
    assert all(path.exists() for path in ALLOWED)
