from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fleetdeck.wire.admin import AuditEntry, AuditPage
from fleetdeck.wire.auth import ApiToken, CreatedToken, Role, User
from fleetdeck.wire.fleet import Environment, JoinToken, Node
from tests.unit.cli.helpers import run_cli

if TYPE_CHECKING:
    import pytest

    from tests.unit.client.fake_server import FakeServer

URL = ("--url", "https://fleet.test:8443", "--token", "tok")
ENV = Environment(
    name="prod",
    kind="agent",
    tags=["eu"],
    groups=[],
    status="pending",
    last_seen=None,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    nodes=[],
).model_dump(mode="json")
JOIN = JoinToken(
    environment=Environment.model_validate(ENV),
    join_token="FDJT-1-abc-def",  # noqa: S106
    agent_command="fleetdeck agent --server https://fleet.test:8443 --join-token FDJT-1-abc-def",
    expires_in_seconds=3600,
).model_dump(mode="json")


def test_env_add_json_has_the_join_token(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("POST", "/environments", JOIN)
    result = run_cli(capsys, monkeypatch, "env", "add", "prod", "--tag", "eu", "-o", "json", *URL)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["join_token"] == "FDJT-1-abc-def"  # noqa: S105
    assert data["environment"]["name"] == "prod" and "agent_command" in data
    assert json.loads(fake_server.requests[-1].content) == {"name": "prod", "tags": ["eu"]}


def test_env_add_table_shows_the_command_to_run(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("POST", "/environments", JOIN)
    result = run_cli(capsys, monkeypatch, "env", "add", "prod", *URL)
    assert "FDJT-1-abc-def" in result.out and "fleetdeck agent --server" in result.out


def test_env_show_and_ls(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    node = Node(name="prod-1", address="10.0.0.2", hostname="h1", status="up")
    shown_env = Environment.model_validate(ENV).model_copy(update={"status": "up", "nodes": [node]})
    fake_server.on("GET", "/environments/prod", shown_env.model_dump(mode="json"))
    fake_server.on("GET", "/environments", [ENV])
    shown = run_cli(capsys, monkeypatch, "env", "show", "prod", *URL)
    assert shown.code == 0 and "10.0.0.2" in shown.out
    listed = run_cli(capsys, monkeypatch, "env", "ls", "-o", "json", *URL)
    assert [e["name"] for e in json.loads(listed.out)] == ["prod"]


def test_env_rm_off_a_terminal_needs_yes(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("DELETE", "/environments/prod", lambda _r: __import__("httpx").Response(204))
    refused = run_cli(capsys, monkeypatch, "env", "rm", "prod", *URL, stdin="")
    assert refused.code == 2 and "--yes" in refused.err and fake_server.requests == []
    done = run_cli(capsys, monkeypatch, "env", "rm", "prod", "--yes", *URL)
    assert done.code == 0 and fake_server.requests[-1].method == "DELETE"


def test_users_add_reads_the_password_from_stdin(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = User(username="bob", role=Role.operator, disabled=False)
    fake_server.on("POST", "/users", bob.model_dump(mode="json"))
    args = ["users", "add", "bob", "--role", "operator", "--password-stdin", *URL]
    result = run_cli(capsys, monkeypatch, *args, stdin="s3cret-pass\n")
    assert result.code == 0, result.err
    assert json.loads(fake_server.requests[-1].content) == {
        "username": "bob",
        "password": "s3cret-pass",
        "role": "operator",
    }


def test_bare_users_lists(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/users", [User(username="ann", role=Role.admin).model_dump(mode="json")])
    result = run_cli(capsys, monkeypatch, "users", "-o", "json", *URL)
    assert json.loads(result.out)[0]["username"] == "ann"


def test_tokens_create_prints_the_secret_once(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = CreatedToken(id="t2", name="ci", role=Role.viewer, token="fdt_xyz")  # noqa: S106
    fake_server.on("POST", "/tokens", created.model_dump(mode="json"))
    result = run_cli(capsys, monkeypatch, "tokens", "create", "ci", "--role", "viewer", *URL)
    assert result.code == 0 and "fdt_xyz" in result.out


def test_audit_filters(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = AuditEntry(
        id=1,
        time=datetime(2026, 1, 1, tzinfo=UTC),
        actor="ann",
        action="container.stop",
        target="prod/prod-1/web",
        result="ok",
        detail=None,
    )
    fake_server.on("GET", "/audit", AuditPage(items=[entry], total=1).model_dump(mode="json"))
    result = run_cli(capsys, monkeypatch, "audit", "--actor", "ann", *URL)
    assert result.code == 0 and "container.stop" in result.out
    assert fake_server.requests[-1].url.params["actor"] == "ann"


def test_tokens_revoke_takes_the_short_id_a_table_shows(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = [
        ApiToken(id="ae8d0bee08064af69a91f6f1f898be31", name="cli@vm", role=Role.admin),
        ApiToken(id="ae8d0bff00000000000000000000000", name="ci", role=Role.viewer),
    ]
    fake_server.on("GET", "/tokens", [t.model_dump(mode="json") for t in tokens])
    for token in tokens:
        revoked = token.model_copy(update={"revoked": True})
        fake_server.on("DELETE", f"/tokens/{token.id}", revoked.model_dump(mode="json"))
    listed = run_cli(capsys, monkeypatch, "tokens", *URL)
    assert "ae8d0bee0806 " in listed.out
    result = run_cli(capsys, monkeypatch, "tokens", "revoke", "ae8d0bee0806", *URL)
    assert result.code == 0, result.err
    assert fake_server.requests[-1].method == "DELETE"
    ambiguous = run_cli(capsys, monkeypatch, "tokens", "revoke", "ae8d0b", *URL)
    assert ambiguous.code == 5 and "2 tokens match" in ambiguous.err
    by_name = run_cli(capsys, monkeypatch, "tokens", "revoke", "ci", "-o", "json", *URL)
    assert json.loads(by_name.out) == {"revoked": "ae8d0bff00000000000000000000000"}
