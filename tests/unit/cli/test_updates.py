"""``fleetdeck updates`` (ls, check, policy) over a fake server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fleetdeck.wire.updates import CheckResult, UpdateItem, UpdatePolicies, UpdatesList
from tests.unit.cli.helpers import run_cli

if TYPE_CHECKING:
    import pytest

    from tests.unit.client.fake_server import FakeServer

URL = ("--url", "https://fleet.test:8443", "--token", "tok")
OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64
ITEM = UpdateItem(
    stack="shop", service="web", environment="prod", image="reg:5000/shop/web:1",
    reference="reg:5000/shop/web:1", policy="notify", policy_source="compose:shop",
    status="available", running_digest=OLD, available_digest=NEW, update_available=True,
)  # fmt: skip


def test_ls_shows_pending_updates(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/updates", UpdatesList(items=[ITEM]).model_dump(mode="json"))
    result = run_cli(capsys, monkeypatch, "updates", "ls", *URL)
    assert result.code == 0, result.err
    assert "shop/web" in result.out and "update available" in result.out
    assert "aaaaaaaaaaaa" in result.out and "bbbbbbbbbbbb" in result.out
    as_json = json.loads(run_cli(capsys, monkeypatch, "updates", "ls", "-o", "json", *URL).out)
    assert as_json["items"][0]["available_digest"] == NEW


def test_check_prints_the_rounds_figures(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CheckResult(references=1, services=2, head_requests=1, token_requests=0,
                         updated=["blog/web"], items=[ITEM])  # fmt: skip
    fake_server.on("POST", "/updates/check", result.model_dump(mode="json"))
    out = run_cli(capsys, monkeypatch, "updates", "check", *URL)
    assert out.code == 0, out.err
    assert "1 image reference(s) for 2 service(s): 1 HEAD" in out.out and "blog/web" in out.out


def test_policy_lists_sets_and_removes(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = UpdatePolicies(default="notify", items=[]).model_dump(mode="json")
    fake_server.on("GET", "/updates/policies", empty)
    listed = run_cli(capsys, monkeypatch, "updates", "policy", *URL)
    assert listed.code == 0 and "notify" in listed.out
    fake_server.on("PUT", "/updates/policies/shop%2Fweb", empty)
    done = run_cli(capsys, monkeypatch, "updates", "policy", "shop/web", "auto", *URL)
    assert done.code == 0 and "update policy of shop/web: auto" in done.out
    assert json.loads(fake_server.requests[-1].content) == {"policy": "auto"}
    fake_server.on("DELETE", "/updates/policies/shop", empty)
    removed = run_cli(capsys, monkeypatch, "updates", "policy", "shop", "--rm", *URL)
    assert removed.code == 0 and "removed" in removed.out
    missing = run_cli(capsys, monkeypatch, "updates", "policy", "shop", *URL)
    assert missing.code != 0 and "say the policy" in missing.err
