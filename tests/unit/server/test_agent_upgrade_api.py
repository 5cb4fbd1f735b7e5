"""``POST /api/v1/agents/upgrade`` through the real app, store and audit log (no agent runs).

What is refused before anything moves (who may, the body, unknown environments, no build
served), and the dry run's plan: an environment whose node never enrolled has nothing to
move. The rollout itself is tested with real hosts in tests/integration/test_agents_upgrade.py
and its decisions in test_agent_upgrade.py.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fleetdeck.server.context import context_of
from fleetdeck.server.install.dist import AgentDist
from tests.unit.server.conftest import add_user, bearer

if TYPE_CHECKING:
    from pathlib import Path

    import httpx
    from fastapi import FastAPI

UPGRADE = "/api/v1/agents/upgrade"


def _serve(app: FastAPI, tmp_path: Path, version: str = "0.9.0") -> None:
    house = tmp_path / "house"
    house.mkdir()
    (house / f"fleetdeck-{version}-py3-none-any.whl").write_bytes(b"wheel")
    AgentDist(context_of(app).settings.agent_dist_path).fill(house)


async def _audit(client: httpx.AsyncClient, token: str) -> list[dict[str, object]]:
    answer = await client.get(
        "/api/v1/audit", params={"action": "agents.upgrade"}, headers=bearer(token)
    )
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_bad_requests_are_refused_before_anything_moves(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    auth = bearer(admin_token)
    operator = await add_user(client, admin_token, "olga", "operator")
    answer = await client.post(UPGRADE, json={}, headers=bearer(operator))
    assert answer.status_code == 403
    for body, words in (
        ({"timeout_seconds": 5}, "greater than or equal to 10"),
        ({"environments": "nas"}, "list"),
        ({"bogus": True}, "bogus"),
    ):
        answer = await client.post(UPGRADE, json=body, headers=auth)
        assert answer.status_code == 422 and words in answer.text, answer.text
    answer = await client.post(UPGRADE, json={"dry_run": True}, headers=auth)
    assert answer.status_code == 404 and "serves no agent distribution" in answer.text
    _serve(app, tmp_path)
    answer = await client.post(UPGRADE, json={"environments": ["nowhere"]}, headers=auth)
    assert answer.status_code == 404 and "no environment 'nowhere'" in answer.text
    entries = await _audit(client, admin_token)
    assert [e["result"] for e in entries] == [
        "error: no environment 'nowhere'",
        "error: this server serves no agent distribution",
    ]


async def test_a_dry_run_answers_the_plan_and_moves_nothing(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    auth = bearer(admin_token)
    _serve(app, tmp_path)
    created = await client.post("/api/v1/environments", json={"name": "nas"}, headers=auth)
    assert created.status_code == 201
    answer = await client.post(UPGRADE, json={"dry_run": True}, headers=auth)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in answer.text.splitlines()]
    assert events == [
        {"event": "plan", "target": "0.9.0", "nodes": []},
        {"event": "done", "moved": 0, "undone": 0, "failed": 0},
    ]
    (entry,) = await _audit(client, admin_token)
    assert entry["result"] == "ok" and entry["target"] == "*"
    detail = entry["detail"]
    assert isinstance(detail, dict) and detail["dry_run"] is True and detail["to"] == "0.9.0"
