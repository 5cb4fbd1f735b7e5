"""Issue #12 through the API and the real store: variables, undone deploys, revisions, rollback.

The engine side is a fake applier (the agent boundary) whose plan and outcome each test
chooses; everything from the request to the stored rows is the real code.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.hub import DeployFinished
from fleetdeck.server.stacks.plan import Action, Change, DeployOutcome, Plan

from .conftest import bearer

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from fleetdeck.compose import Project
    from fleetdeck.server.stacks.plan import DeployTarget

KEYED_COMPOSE = (
    "services:\n  app:\n    image: 127.0.0.1:5000/app:1\n    secrets: [api_key]\n"
    "secrets:\n  api_key:\n    environment: API_KEY\n"
)


def _compose(tag: str) -> dict[str, str]:
    return {"name": "compose.yaml", "content": f"services:\n  app:\n    image: reg/app:{tag}\n"}


class _Applier:
    """Plans ``changes`` (default: every service recreated) and ends with ``outcome``."""

    def __init__(self) -> None:
        self.outcome = DeployOutcome(True, "converged and healthy")
        self.noop = False
        self.applied: list[dict[str, str]] = []

    async def plan(self, project: Project, target: DeployTarget) -> Plan:
        action = Action.unchanged if self.noop else Action.recreate
        changes = [Change(name, action, "test") for name in sorted(project.services)]
        return Plan(stack=target.stack, environment=target.environment, changes=changes)

    async def apply(self, project: Project, plan: Plan, target: DeployTarget, **_: Any) -> Any:
        self.applied.append({n: s.image or "" for n, s in project.services.items()})
        digests = {n: f"{s.image}@sha256:{'0' * 64}" for n, s in project.services.items()}
        return DeployOutcome(self.outcome.ok, self.outcome.message, self.outcome.rolled_back,
                             digests if self.outcome.ok else {})  # fmt: skip


@pytest.fixture
async def fake(app: FastAPI, client: httpx.AsyncClient, admin_token: str) -> _Applier:
    created = await client.post(
        "/api/v1/environments", json={"name": "lab"}, headers=bearer(admin_token)
    )
    assert created.status_code == 201, created.text
    applier = _Applier()
    context_of(app).stacks.host = applier  # type: ignore[assignment]  # a fake applier
    return applier


async def _deploy(client: httpx.AsyncClient, token: str, body: dict[str, Any],
                  path: str = "deploy") -> dict[str, Any]:  # fmt: skip
    response = await client.post(f"/api/v1/stacks/shop/{path}", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    events = [json.loads(line) for line in response.text.splitlines()]
    assert events[-1]["type"] == "result", events
    return dict(events[-1])


async def _get(client: httpx.AsyncClient, token: str, path: str = "") -> Any:
    response = await client.get(f"/api/v1/stacks/shop{path}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def test_editor_validation_uses_the_stacks_stored_secret(
    fake: _Applier, client: httpx.AsyncClient, admin_token: str
) -> None:
    files = [{"name": "compose.yaml", "content": KEYED_COMPOSE}]
    put = await client.put("/api/v1/stacks/shop/variables/API_KEY", headers=bearer(admin_token),
                           json={"value": "s3cret-value", "secret": True})  # fmt: skip
    assert put.status_code == 200, put.text
    for stack, ok in ((None, False), ("shop", True)):
        body = {"files": files, "variables": {}} | ({"stack": stack} if stack else {})
        result = (await client.post("/api/v1/stacks/validate", json=body,
                                    headers=bearer(admin_token))).json()  # fmt: skip
        assert result["ok"] is ok, result
        assert "s3cret-value" not in json.dumps(result)
    # A viewer interpolating the secret into a value sees a stand-in, never the value.
    leaky = KEYED_COMPOSE.replace("    secrets:", "    environment: {K: '$API_KEY'}\n    secrets:")
    body = {"files": [{"name": "compose.yaml", "content": leaky}], "stack": "shop"}
    result = (await client.post("/api/v1/stacks/validate", json=body,
                                headers=bearer(admin_token))).json()  # fmt: skip
    assert result["ok"] and "s3cret-value" not in json.dumps(result), result


async def test_a_secret_from_the_env_file_or_set_before_the_first_save_counts(
    fake: _Applier, client: httpx.AsyncClient, admin_token: str
) -> None:
    files = [{"name": "compose.yaml", "content": KEYED_COMPOSE}]
    body = {"environment": "lab", "files": files, "env_file": "API_KEY=from-env-file\n"}
    saved = await client.put("/api/v1/stacks/shop", json=body, headers=bearer(admin_token))
    assert saved.status_code == 200, saved.text
    refused = await client.put("/api/v1/stacks/other", headers=bearer(admin_token),
                               json={"environment": "lab", "files": files})  # fmt: skip
    assert refused.status_code == 422
    assert (
        "Variables tab" in refused.json()["hint"]
        and "stack vars set other" in refused.json()["hint"]
    )
    # The UI's order: the secret first, then the first save, then the deploy.
    put = await client.put("/api/v1/stacks/other/variables/API_KEY", headers=bearer(admin_token),
                           json={"value": "v", "secret": True})  # fmt: skip
    assert put.status_code == 200
    saved = await client.put("/api/v1/stacks/other", headers=bearer(admin_token),
                             json={"environment": "lab", "files": files})  # fmt: skip
    assert saved.status_code == 200, saved.text


async def test_an_undone_deploy_leaves_the_running_definition_and_a_rolled_back_revision(
    fake: _Applier, client: httpx.AsyncClient, admin_token: str
) -> None:
    good = [_compose("1")]
    await _deploy(client, admin_token, {"environment": "lab", "files": good})
    broken = {"name": "broken.yaml", "content": "services:\n  app:\n    image: reg/app:bad\n"}
    fake.outcome = DeployOutcome(False, "app-2 failed its healthcheck; rolled back", True)
    result = await _deploy(client, admin_token, {"files": [*good, broken]})
    assert not result["ok"] and result["rolled_back"]
    stack = await _get(client, admin_token)
    assert [f["name"] for f in stack["files"]] == ["compose.yaml"]
    assert stack["revision"] == 1
    history = await _get(client, admin_token, "/history")
    assert [(h["revision"], h["result"]) for h in history] == [(2, "rolled_back"), (1, "ok")]
    # The next deploy from the stored files deploys what ran, not the failed change.
    fake.outcome = DeployOutcome(True, "converged and healthy")
    await _deploy(client, admin_token, {})
    assert fake.applied[-1] == {"app": "reg/app:1"}


async def test_unchanged_redeploys_add_no_revision_and_rollback_skips_identical_ones(
    fake: _Applier, client: httpx.AsyncClient, admin_token: str
) -> None:
    await _deploy(client, admin_token, {"environment": "lab", "files": [_compose("1")]})
    await _deploy(client, admin_token, {"files": [_compose("2")]})
    fake.noop = True
    again = await _deploy(client, admin_token, {"files": [_compose("2")]})
    assert again["ok"] and again["revision"] == 2 and "no new revision" in again["message"]
    history = await _get(client, admin_token, "/history")
    assert [h["revision"] for h in history] == [2, 1]
    assert history[0]["changed"] == 1 and history[0]["image_digests"]["app"].startswith("reg/")
    fake.noop = False
    back = await _deploy(client, admin_token, {}, "rollback")
    assert back["ok"] and back["message"].startswith("rollback to revision 1"), back
    assert fake.applied[-1] == {"app": "reg/app:1"}
    # Revision 1's content is what runs now; so is 3: nothing earlier differs from it but 2.
    back = await _deploy(client, admin_token, {}, "rollback")
    assert back["message"].startswith("rollback to revision 2"), back


async def test_rollback_refuses_when_no_earlier_revision_differs(
    fake: _Applier, client: httpx.AsyncClient, admin_token: str
) -> None:
    await _deploy(client, admin_token, {"environment": "lab", "files": [_compose("1")]})
    # The same files again, deployed because something had to be repaired (a plan with
    # changes): a second revision identical to the first.
    await _deploy(client, admin_token, {"files": [_compose("1")]})
    assert len(await _get(client, admin_token, "/history")) == 2
    refused = await client.post("/api/v1/stacks/shop/rollback", json={},
                                headers=bearer(admin_token))  # fmt: skip
    assert refused.status_code == 409, refused.text
    assert "would change nothing" in refused.json()["message"]
    assert len(await _get(client, admin_token, "/history")) == 2


async def test_shell_values_win_over_stored_over_the_env_file_and_diff_names_the_source(
    fake: _Applier, client: httpx.AsyncClient, admin_token: str
) -> None:
    text = "services:\n  app:\n    image: reg/app:${TAG:-0}\n    environment: {X: '${X-}'}\n"
    files = [{"name": "compose.yaml", "content": text}]
    base = {"environment": "lab", "files": files, "env_file": "TAG=env\nX=1\n"}

    async def diff(body: dict[str, Any]) -> dict[str, str]:
        response = await client.post("/api/v1/stacks/shop/diff", json=body,
                                     headers=bearer(admin_token))  # fmt: skip
        assert response.status_code == 200, response.text
        return {v["name"]: v["source"] for v in response.json()["variables"]}

    assert await diff(base) == {"TAG": "env_file", "X": "env_file"}
    await client.put("/api/v1/stacks/shop/variables/TAG", headers=bearer(admin_token),
                     json={"value": "stored", "secret": False})  # fmt: skip
    assert await diff(base) == {"TAG": "stored", "X": "env_file"}
    assert await diff(base | {"variables": {"TAG": "shell"}}) == {"TAG": "shell", "X": "env_file"}
    await _deploy(client, admin_token, base | {"variables": {"TAG": "shell"}})
    assert fake.applied[-1] == {"app": "reg/app:shell"}
    variables = await _get(client, admin_token, "/variables")
    assert variables == [{"key": "TAG", "secret": False, "value": "stored"}]  # not stored
    await _deploy(client, admin_token, {"files": [_compose("2")]})
    await _deploy(client, admin_token, {}, "rollback")  # revision 1, with its shell value
    assert fake.applied[-1] == {"app": "reg/app:shell"}


async def test_every_finished_deploy_is_published_on_the_fleet_hub(
    app: FastAPI, fake: _Applier, client: httpx.AsyncClient, admin_token: str
) -> None:
    finished: list[DeployFinished] = []
    context_of(app).fleet.hub.subscribe(DeployFinished, finished.append)
    await _deploy(client, admin_token, {"environment": "lab", "files": [_compose("1")]})
    fake.outcome = DeployOutcome(False, "app did not start")
    await _deploy(client, admin_token, {"files": [_compose("2")]})
    fake.noop, fake.outcome = True, DeployOutcome(True, "converged and healthy")
    await _deploy(client, admin_token, {"files": [_compose("1")]})  # nothing changed
    assert [(e.stack, e.environment, e.ok, e.revision) for e in finished] == [
        ("shop", "lab", True, 1),
        ("shop", "lab", False, 2),
        ("shop", "lab", True, 1),
    ]
    assert finished[1].message.startswith("app did not start")
