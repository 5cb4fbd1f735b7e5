"""Alerting API: built-in rules, rule validation, channels (masked, encrypted), test action."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import add_user, bearer

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings

SECRET = "hunter2-webhook-token"  # noqa: S105 - test data

BUILTIN = {
    "node-unreachable", "engine-down", "container-exited", "restart-loop", "container-unhealthy",
    "host-cpu-high", "host-memory-high", "host-disk-high", "stack-deploy-failed", "backup-failed",
}  # fmt: skip


async def test_builtin_rules_are_on_by_default_and_cannot_be_deleted(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    rules = (await client.get("/api/v1/rules", headers=bearer(admin_token))).json()
    by_name = {r["name"]: r for r in rules}
    assert set(by_name) >= BUILTIN
    assert all(by_name[n]["enabled"] and by_name[n]["builtin"] for n in BUILTIN)
    assert by_name["host-cpu-high"]["metric"] == "cpu_percent"
    assert by_name["host-cpu-high"]["for"] == 300
    gone = await client.delete("/api/v1/rules/node-unreachable", headers=bearer(admin_token))
    assert gone.status_code == 409 and "disable" in gone.json()["hint"]
    off = await client.post("/api/v1/rules/node-unreachable/disable", headers=bearer(admin_token))
    assert off.status_code == 200 and off.json()["enabled"] is False
    edited = await client.patch(
        "/api/v1/rules/host-cpu-high",
        json={"threshold": 75, "for": "1m"},
        headers=bearer(admin_token),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["threshold"] == 75 and edited.json()["for"] == 60


LOAD = {"metric": "load1", "operator": ">", "threshold": 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"metric": "cpu_furnace", "operator": ">", "threshold": 1}, "unknown metric"),
        ({"metric": "load1", "operator": "=>", "threshold": 1}, "bad operator"),
        ({"metric": "load1", "operator": ">"}, "needs a threshold"),
        (LOAD | {"for": "5 parsecs"}, "bad duration"),
        (
            LOAD | {"environments": ["nope"]},
            "unknown environment",
        ),
        ({"metric": "cpu_percent", "operator": ">", "threshold": 1}, "set target"),
        (
            LOAD | {"labels": ["a=b"]},
            "container rules only",
        ),
        ({"condition": "sunspots"}, "unknown condition"),
        ({"condition": "restart_loop", "threshold": 3}, "needs a window"),
        (LOAD | {"severity": "doom"}, "bad severity"),
        (
            LOAD | {"channels": ["pager"]},
            "unknown channel",
        ),
    ],
)
async def test_bad_rules_are_refused_with_a_clear_error(
    client: httpx.AsyncClient, admin_token: str, body: dict[str, Any], message: str
) -> None:
    response = await client.post(
        "/api/v1/rules", json={"name": "bad-rule", **body}, headers=bearer(admin_token)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input"
    assert message in response.json()["message"]
    listed = (await client.get("/api/v1/rules", headers=bearer(admin_token))).json()
    assert "bad-rule" not in {r["name"] for r in listed}


async def test_a_user_rule_is_created_listed_and_deleted(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    body = {
        "name": "busy-web", "metric": "cpu_cores", "target": "container", "operator": ">",
        "threshold": 0.5, "for": "30s", "labels": ["app=web"], "severity": "critical",
    }  # fmt: skip
    created = await client.post("/api/v1/rules", json=body, headers=bearer(admin_token))
    assert created.status_code == 201, created.text
    assert created.json()["for"] == 30 and created.json()["labels"] == ["app=web"]
    again = await client.post("/api/v1/rules", json=body, headers=bearer(admin_token))
    assert again.status_code == 409
    viewer = await add_user(client, admin_token, "vic", "viewer")
    refused = await client.delete("/api/v1/rules/busy-web", headers=bearer(viewer))
    assert refused.status_code == 403
    assert (await client.delete("/api/v1/rules/busy-web", headers=bearer(admin_token))).json() == {
        "ok": True
    }


async def test_channel_urls_are_checked_masked_and_stored_encrypted(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, settings: ServerSettings
) -> None:
    url = f"json://hook:{SECRET}@127.0.0.1:9/alerts"
    created = await client.post(
        "/api/v1/channels", json={"name": "hook", "url": url}, headers=bearer(admin_token)
    )
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "json" and created.json()["url"] == "json://127.0.0.1/***"
    listed = await client.get("/api/v1/channels", headers=bearer(admin_token))
    audit = await client.get("/api/v1/audit", headers=bearer(admin_token))
    for text in (created.text, listed.text, audit.text):
        assert SECRET not in text
    with sqlite3.connect(settings.data_dir / "fleetdeck.db") as conn:
        dump = "\n".join(conn.iterdump())
    conn.close()
    assert SECRET not in dump
    for bad in ("no-scheme-here", "nosuchservice://x/y", "slack://"):
        refused = await client.post(
            "/api/v1/channels", json={"name": "bad", "url": bad}, headers=bearer(admin_token)
        )
        assert refused.status_code == 422, refused.text


async def test_a_test_notification_to_an_unreachable_target_is_a_recorded_failure(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    await client.post(
        "/api/v1/channels",
        json={"name": "nowhere", "url": "json://127.0.0.1:9/none"},
        headers=bearer(admin_token),
    )
    result = await client.post("/api/v1/channels/nowhere/test", headers=bearer(admin_token))
    assert result.status_code == 200, result.text
    assert result.json()["status"] == "failed" and result.json()["attempts"] == 1
    assert result.json()["last_error"]
    history = await client.get(
        "/api/v1/deliveries", params={"channel": "nowhere"}, headers=bearer(admin_token)
    )
    assert [d["event"] for d in history.json()] == ["test"]
