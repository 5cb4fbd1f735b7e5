"""Autoscaling policies and stack scaling through the real API, store and audit log.

The stack's applier is a fake at the node boundary (it records what it was asked); the lab
tests run the real ones.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.client.stack_files import stack_file
from fleetdeck.server.autoscale.observe import Observation
from fleetdeck.server.autoscale.policy import Policy
from fleetdeck.server.context import context_of
from fleetdeck.server.stacks.plan import DeployOutcome, Plan

from .conftest import add_user, bearer
from .test_stacks_files_api import _FakeApplier

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from fleetdeck.compose import Project
    from fleetdeck.server.stacks.plan import DeployTarget

COMPOSE = "services:\n  app: {image: 127.0.0.1:5000/app:1, deploy: {replicas: 2}}\n"


class _Scaling(_FakeApplier):
    """Records the scaled counts each plan and scale was given."""

    def __init__(self) -> None:
        super().__init__()
        self.planned: list[dict[str, int]] = []
        self.scaled: list[tuple[str, dict[str, int]]] = []

    async def plan(self, project: Project, target: DeployTarget) -> Plan:
        self.planned.append(dict(target.replicas))
        return Plan(stack=target.stack, environment=target.environment)

    async def scale(self, project: Project, target: DeployTarget, service: str,
                    **_: Any) -> DeployOutcome:  # fmt: skip
        self.scaled.append((service, dict(target.replicas)))
        return DeployOutcome(True, f"{service} runs {target.replicas[service]} replica(s)")


@pytest.fixture
async def shop(app: FastAPI, client: httpx.AsyncClient, admin_token: str) -> _Scaling:
    created = await client.post(
        "/api/v1/environments", json={"name": "lab"}, headers=bearer(admin_token)
    )
    assert created.status_code == 201, created.text
    applier = _Scaling()
    context_of(app).stacks.host = applier  # type: ignore[assignment]  # a fake applier
    await _deploy(client, admin_token, COMPOSE)
    return applier


async def _deploy(client: httpx.AsyncClient, token: str, text: str) -> None:
    body = {"environment": "lab", "files": [stack_file("compose.yaml", text.encode())]}
    response = await client.post("/api/v1/stacks/shop/deploy", json=body, headers=bearer(token))
    events = [json.loads(line) for line in response.text.splitlines()]
    assert events[-1]["type"] == "result" and events[-1]["ok"], events[-1]


async def test_a_scaled_count_is_kept_by_deploys_until_the_file_changes(
    client: httpx.AsyncClient, admin_token: str, shop: _Scaling
) -> None:
    path = "/api/v1/stacks/shop/services/app/scale"
    done = await client.post(path, json={"replicas": 5}, headers=bearer(admin_token))
    assert done.status_code == 200, done.text
    assert done.json() == {"stack": "shop", "service": "app", "replicas": 5, "previous": 2,
                           "message": "app runs 5 replica(s)"}  # fmt: skip
    assert shop.scaled == [("app", {"app": 5})]
    await _deploy(client, admin_token, COMPOSE)  # same file: the scaled count wins
    assert shop.planned[-1] == {"app": 5}
    await _deploy(client, admin_token, COMPOSE.replace("replicas: 2", "replicas: 3"))
    assert shop.planned[-1] == {}  # the file's count changed: it wins from now on
    await _deploy(client, admin_token, COMPOSE)
    assert shop.planned[-1] == {}
    audit = await client.get("/api/v1/audit", headers=bearer(admin_token))
    assert any(e["action"] == "stack.scale" and e["target"] == "shop/app"
               for e in audit.json()["items"])  # fmt: skip


@pytest.mark.parametrize(
    ("service", "body", "status", "text"),
    [
        ("nope", {"replicas": 2}, 404, "has no service 'nope'"),
        ("app", {"replicas": 101}, 422, "replicas"),
        ("app", {"replicas": -1}, 422, "replicas"),
        ("app", {"replicas": 2, "force": True}, 422, "force"),
    ],
)
async def test_bad_scales_are_refused_and_change_nothing(
    client: httpx.AsyncClient, admin_token: str, shop: _Scaling,
    service: str, body: dict[str, Any], status: int, text: str,
) -> None:  # fmt: skip
    path = f"/api/v1/stacks/shop/services/{service}/scale"
    response = await client.post(path, json=body, headers=bearer(admin_token))
    assert response.status_code == status, response.text
    assert text in response.text
    assert shop.scaled == []


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"min": 3, "max": 2, "cpu": 70}, "--min 3 is above --max 2"),
        ({"min": 2, "max": 8}, "a policy needs a target"),
        ({"min": 2, "max": 8, "gpu": 70}, "gpu"),
        ({"min": 2, "max": 8, "cpu": 0}, "cpu"),
        ({"min": 2, "max": 8, "prometheus": "sum(rate(x[1m])", "target": 100}, "unclosed '('"),
        ({"min": 2, "max": 8, "prometheus": 'up{job="a}', "target": 100}, "malformed PromQL"),
        ({"min": 2, "max": 8, "prometheus": "sum(up)"}, "go together"),
        ({"min": 2, "max": 8, "prometheus": "sum(up)", "target": 1}, "no Prometheus"),
    ],
)
async def test_bad_policies_are_refused_with_the_reason(
    client: httpx.AsyncClient, admin_token: str, shop: _Scaling, body: dict[str, Any], text: str
) -> None:
    response = await client.put("/api/v1/autoscale/shop/app", json=body,
                                headers=bearer(admin_token))  # fmt: skip
    assert response.status_code == 422, response.text
    assert text in response.text
    listed = await client.get("/api/v1/autoscale", headers=bearer(admin_token))
    assert listed.json() == []


async def test_policies_are_set_listed_synced_and_removed(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, shop: _Scaling
) -> None:
    autoscaler = context_of(app).autoscaler
    assert autoscaler is not None
    await autoscaler.loop.stop()  # this test syncs by hand: no second sync racing it
    viewer = await add_user(client, admin_token, "vera", "viewer")
    body = {"min": 2, "max": 8, "cpu": 70, "memory": 80, "scale_down_window_s": 30}
    refused = await client.put("/api/v1/autoscale/shop/app", json=body, headers=bearer(viewer))
    assert refused.status_code == 403
    unknown = await client.put("/api/v1/autoscale/nope/app", json=body,
                               headers=bearer(admin_token))  # fmt: skip
    assert unknown.status_code == 404, unknown.text
    done = await client.put("/api/v1/autoscale/shop/app", json=body, headers=bearer(admin_token))
    assert done.status_code == 200, done.text
    listed = (await client.get("/api/v1/autoscale", headers=bearer(viewer))).json()
    assert [(p["target"], p["kind"], p["min"], p["max"], p["cpu"], p["scale_down_window_s"])
            for p in listed] == [("shop/app", "stack", 2, 8, 70.0, 30)]  # fmt: skip
    # The environment has no node: nothing is observed, so nothing changes, and it says so.
    (policy,) = await autoscaler.repo.policies()
    decision = await autoscaler.sync_one(policy)
    assert decision.desired == decision.current and "no change" in decision.reason
    await autoscaler.sync_one(policy)  # the same reason again: not recorded twice
    history = await client.get("/api/v1/autoscale/shop/app/history", headers=bearer(viewer))
    assert [(d["applied"], d["reason"]) for d in history.json()] == [(False, decision.reason)]
    assert shop.scaled == []
    gone = await client.delete("/api/v1/autoscale/shop/app", headers=bearer(admin_token))
    assert gone.json() == {"ok": True}
    again = await client.delete("/api/v1/autoscale/shop/app", headers=bearer(admin_token))
    assert again.status_code == 404


async def test_an_unreadable_prometheus_alerts_once_and_resolves_when_read_again(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    autoscaler = context_of(app).autoscaler
    assert autoscaler is not None
    await autoscaler.loop.stop()  # this test drives the alert by hand
    policy = Policy("stack", "shop", "app", 2, 8, prometheus_query="sum(up)", prometheus_target=5)
    seen = Observation(current=2, ready=2, environment="lab")

    async def alerts() -> list[dict[str, Any]]:
        answer = await client.get("/api/v1/alerts", headers=bearer(admin_token))
        return [a for a in answer.json()["items"] if a["rule"] == "autoscale-metric-unavailable"]

    await autoscaler._alert_metric(policy, seen, "")  # unknown → good: resolves nothing there
    assert await alerts() == []
    for _ in range(3):  # a sync every 15 s while Prometheus is down: one alert
        await autoscaler._alert_metric(policy, seen, "connection refused")
    (fired,) = await alerts()
    assert fired["state"] == "firing" and fired["severity"] == "warning"
    assert fired["labels"] == {"service": "shop/app", "policy": "stack:shop/app",
                               "environment": "lab", "stack": "shop"}  # fmt: skip
    assert "connection refused" in fired["summary"] and "kept at 2" in fired["summary"]
    await autoscaler._alert_metric(policy, seen, "")
    (resolved,) = await alerts()
    assert resolved["state"] == "resolved", resolved
