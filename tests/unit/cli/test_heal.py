"""``fleetdeck heal`` (ls, policy ls|set|rm, reset, history) over a fake server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fleetdeck.wire.heal import (
    HealContainer,
    HealPolicies,
    HealPolicy,
    HealPolicySettings,
    HealStatus,
)
from tests.unit.cli.helpers import run_cli

if TYPE_CHECKING:
    import pytest

    from tests.unit.client.fake_server import FakeServer

URL = ("--url", "https://fleet.test:8443", "--token", "tok")
WHEN = "2026-12-04T12:00:00Z"
SETTINGS = HealPolicySettings(
    enabled=True,
    grace=0,
    backoff=10,
    backoff_max=300,
    reset_after=600,
    max_restarts=5,
    window=900,
    stop_timeout=10,
).model_dump(mode="json")
WATCHED = HealContainer.model_validate({
    "environment": "prod", "node": "n1", "container": "web", "id": "c" * 64, "stack": None,
    "service": None, "state": "running", "health": "unhealthy", "phase": "crash_looping",
    "reason": "unhealthy again after 5 restarts", "policy_sources": ["default", "label"],
    "policy": SETTINGS, "restarts_in_window": 5, "streak": 5, "last_restart_at": WHEN,
    "next_restart_at": None, "crash_looping_since": WHEN,
}).model_dump(mode="json")  # fmt: skip
STATUS = HealStatus.model_validate({"containers": [WATCHED], "services": []}).model_dump(
    mode="json"
)


def test_heal_lists_what_it_watches(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/heal", STATUS)
    result = run_cli(capsys, monkeypatch, "heal", *URL)
    assert result.code == 0, result.err
    assert "prod/n1/web" in result.out and "crash_looping" in result.out and "5/5" in result.out
    as_json = run_cli(capsys, monkeypatch, "heal", "ls", "-o", "json", *URL)
    assert json.loads(as_json.out)["containers"][0]["phase"] == "crash_looping"


def test_policy_set_sends_only_the_given_fields(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = HealPolicy(target="shop/db", source="api", fields={"enabled": False})
    fake_server.on("PUT", "/heal/policies/shop%2Fdb", layer.model_dump(mode="json"))
    result = run_cli(capsys, monkeypatch, "heal", "policy", "set", "shop/db", "--disable",
                     "--window", "10m", *URL)  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(fake_server.requests[-1].content) == {"enabled": False, "window": "10m"}
    assert "heal policy shop/db: enabled=False" in result.out


def test_policy_ls_and_rm_and_reset(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = HealPolicies.model_validate({"default": SETTINGS, "layers": []}).model_dump(
        mode="json"
    )
    fake_server.on("GET", "/heal/policies", policies)
    listed = run_cli(capsys, monkeypatch, "heal", "policy", "ls", *URL)
    assert listed.code == 0 and "max_restarts" in listed.out
    fake_server.on("DELETE", "/heal/policies/default", policies)
    assert run_cli(capsys, monkeypatch, "heal", "policy", "rm", "default", *URL).code == 0
    fake_server.on(
        "POST", "/heal/reset/prod%2Fweb", {"container": {**WATCHED, "phase": "watching"}}
    )
    reset = run_cli(capsys, monkeypatch, "heal", "reset", "prod/web", *URL)
    assert reset.code == 0 and "reset prod/n1/web: watching" in reset.out
