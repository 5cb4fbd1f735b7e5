"""``env ls`` and ``env show`` say which agent each node runs, and which are outdated."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fleetdeck.wire.fleet import Environment, Node
from tests.unit.cli.helpers import run_cli

if TYPE_CHECKING:
    import pytest

    from tests.unit.client.fake_server import FakeServer

URL = ("--url", "https://fleet.test:8443", "--token", "tok")
OLD = Node(name="nas1", status="up", agent_version="0.1.0", agent_protocol=1, agent_outdated=True)
REFUSED = Node(
    name="pi", status="incompatible", agent_version="0.0.1", agent_protocol=0,
    agent_outdated=True, error="the agent on home/pi (0.0.1) speaks protocol 0",
)  # fmt: skip
PENDING = Node(name="new", status="pending")
ENV = Environment(
    name="home", status="incompatible", nodes=[OLD, REFUSED, PENDING],
    agent_version="0.0.1", agent_protocol=0, agent_outdated=True,
).model_dump(mode="json")  # fmt: skip


def test_env_show_has_an_agent_column_and_says_why_a_node_is_refused(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/environments/home", ENV)
    shown = run_cli(capsys, monkeypatch, "env", "show", "home", *URL)
    assert shown.code == 0, shown.err
    assert "AGENT" in shown.out and "0.1.0 p1 outdated" in shown.out
    assert "pi: the agent on home/pi (0.0.1) speaks protocol 0" in shown.out
    as_json = json.loads(
        run_cli(capsys, monkeypatch, "env", "show", "home", "-o", "json", *URL).out
    )
    assert [n["agent_outdated"] for n in as_json["nodes"]] == [True, True, None]


def test_env_ls_shows_the_oldest_agent_of_each_environment(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/environments", [ENV])
    listed = run_cli(capsys, monkeypatch, "env", "ls", *URL)
    assert listed.code == 0, listed.err
    assert "0.0.1 p0 outdated" in listed.out
    rows = json.loads(run_cli(capsys, monkeypatch, "env", "ls", "-o", "json", *URL).out)
    assert (rows[0]["agent_version"], rows[0]["agent_protocol"], rows[0]["agent_outdated"]) == (
        "0.0.1", 0, True,
    )  # fmt: skip


CURRENT = Node(
    name="vps1", status="up", agent_version="0.2.0.dev0", agent_protocol=2,
    agent_commit="0123456789ab", agent_outdated=False,
)  # fmt: skip
VPS = Environment(name="vps", status="up", nodes=[CURRENT]).model_dump(mode="json")


def test_agents_ls_has_one_row_per_node_with_its_agent(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/environments", [ENV, VPS])
    table = run_cli(capsys, monkeypatch, "agents", "ls", *URL)
    assert table.code == 0, table.err
    assert "VERSION" in table.out and "0123456789ab" in table.out
    rows = json.loads(run_cli(capsys, monkeypatch, "agents", "ls", "-o", "json", *URL).out)
    assert [(r["environment"], r["node"], r["agent_outdated"]) for r in rows] == [
        ("home", "nas1", True), ("home", "pi", True), ("home", "new", None), ("vps", "vps1", False),
    ]  # fmt: skip
    assert rows[3] == {
        "environment": "vps", "node": "vps1", "hostname": None, "status": "up",
        "agent_version": "0.2.0.dev0", "agent_protocol": 2, "agent_commit": "0123456789ab",
        "agent_outdated": False,
    }  # fmt: skip
    only = run_cli(
        capsys, monkeypatch, "agents", "ls", "vps", "home", "--outdated", "-o", "json", *URL
    )
    assert [r["node"] for r in json.loads(only.out)] == ["nas1", "pi"]


def test_agents_ls_of_an_unknown_environment_says_so(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/environments", [VPS])
    result = run_cli(capsys, monkeypatch, "agents", "ls", "nope", *URL)
    assert result.code == 4 and "no environment 'nope'" in result.err
