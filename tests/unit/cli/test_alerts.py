"""``fleetdeck alerts``, ``rules``, ``silence`` and ``channels`` over a fake server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fleetdeck.wire.alerts import Alert, Delivery, MaintenanceWindow, Rule, Silence
from tests.unit.cli.helpers import run_cli

if TYPE_CHECKING:
    import pytest

    from tests.unit.client.fake_server import FakeServer

URL = ("--url", "https://fleet.test:8443", "--token", "tok")
WHEN = "2026-11-22T12:00:00Z"

ALERT = Alert.model_validate({
    "id": "a" * 32, "rule": "node-unreachable", "severity": "critical", "state": "firing",
    "labels": {"environment": "prod", "node": "n1"}, "summary": "node prod/n1 does not answer",
    "value": None, "started_at": WHEN, "fired_at": WHEN, "resolved_at": None,
    "notified": "firing", "last_notified_at": WHEN, "suppressed": None, "acked_by": None,
    "acked_at": None,
}).model_dump(mode="json")  # fmt: skip
RULE = Rule.model_validate({
    "name": "busy", "description": "", "condition": "metric", "metric": "cpu_cores",
    "target": "container", "operator": ">", "threshold": 1.5, "instance": None, "window": None,
    "for": 300, "severity": "critical", "environments": [], "tags": [], "stacks": [],
    "labels": ["app=web"], "channels": [], "repeat": None, "enabled": True, "builtin": False,
}).model_dump(mode="json", by_alias=True)  # fmt: skip


def _delivery(status: str, error: str | None) -> dict[str, Any]:
    return Delivery.model_validate({
        "id": "d1", "channel": "ops", "event": "test", "rule": None, "alert_ids": [],
        "title": "[TEST]", "body": "b", "severity": "info", "status": status, "attempts": 1,
        "next_attempt_at": WHEN, "last_error": error, "created_at": WHEN, "sent_at": None,
    }).model_dump(mode="json")  # fmt: skip


def test_alerts_lists_active_ones_by_default(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/alerts", {"items": [ALERT], "total": 1})
    result = run_cli(capsys, monkeypatch, "alerts", *URL)
    assert result.code == 0, result.err
    assert "node-unreachable" in result.out and "prod/n1" in result.out
    assert fake_server.requests[-1].url.params["state"] == "active"
    as_json = run_cli(capsys, monkeypatch, "alerts", "--all", "-o", "json", *URL)
    assert json.loads(as_json.out)[0]["id"] == ALERT["id"]
    assert "state" not in fake_server.requests[-1].url.params


def test_rules_add_sends_the_spec_with_for(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("POST", "/rules", RULE)
    args = ("rules", "add", "busy", "-m", "cpu_cores", "--target", "container", "--op", ">",
            "--threshold", "1.5", "--for", "5m", "-l", "app=web",
            "--severity", "critical")  # fmt: skip
    result = run_cli(capsys, monkeypatch, *args, "-o", "json", *URL)
    assert result.code == 0, result.err
    sent = json.loads(fake_server.requests[-1].content)
    assert sent == {
        "name": "busy", "condition": "metric", "metric": "cpu_cores", "target": "container",
        "operator": ">", "threshold": 1.5, "severity": "critical", "labels": ["app=web"],
        "for": "5m",
    }  # fmt: skip
    assert json.loads(result.out)["for"] == 300


def test_channels_test_exits_1_with_the_error_when_delivery_failed(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("POST", "/channels/ops/test", _delivery("failed", "connection refused"))
    result = run_cli(capsys, monkeypatch, "channels", "test", "ops", *URL)
    assert result.code == 1 and "failed (connection refused)" in result.out
    fake_server.on("POST", "/channels/ops/test", _delivery("sent", None))
    assert run_cli(capsys, monkeypatch, "channels", "test", "ops", *URL).code == 0


def test_silence_add_and_maintenance_add(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    silence = Silence.model_validate({"id": "s1", "matchers": ["rule=x"], "starts_at": WHEN,
                                      "ends_at": WHEN, "comment": "", "created_by": "me",
                                      "created_at": WHEN, "state": "active"}
                                     ).model_dump(mode="json")  # fmt: skip
    fake_server.on("POST", "/silences", silence)
    result = run_cli(capsys, monkeypatch, "silence", "add", "rule=x", "--for", "1h", *URL)
    assert result.code == 0, result.err
    assert json.loads(fake_server.requests[-1].content) == {
        "matchers": ["rule=x"],
        "comment": "",
        "duration": "1h",
    }
    period = {k: v for k, v in silence.items() if k not in ("matchers", "comment")}
    window = MaintenanceWindow.model_validate(period | {"environment": "prod", "reason": "disk"})
    fake_server.on("POST", "/maintenance", window.model_dump(mode="json"))
    args = ("silence", "maintenance", "add", "prod", "--for", "2h", "-m", "disk", "-o", "json")
    result = run_cli(capsys, monkeypatch, *args, *URL)
    assert result.code == 0, result.err
    assert json.loads(result.out)["environment"] == "prod"


def test_rules_edit_sends_only_the_options_given(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("PATCH", "/rules/busy", RULE)
    args = ("rules", "edit", "busy", "--threshold", "2", "-e", "prod", "-e", "lab", "--for", "1m")
    result = run_cli(capsys, monkeypatch, *args, "-o", "json", *URL)
    assert result.code == 0, result.err
    sent = json.loads(fake_server.requests[-1].content)
    assert sent == {"threshold": 2.0, "environments": ["prod", "lab"], "for": "1m"}
