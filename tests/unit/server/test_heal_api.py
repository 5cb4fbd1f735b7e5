"""``/api/v1/heal`` through the real app, store and audit log; containers fed as agents send them.

No agent runs here: a restart the healer issues fails at the agent boundary (no link), which
is itself a case worth checking (the failure is audited, the restart still counted).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.hub import DeployFinished
from fleetdeck.server.store.models_alerts import MaintenanceWindow

from .alerts_helpers import container, snapshot
from .conftest import ADMIN_PASSWORD, add_user, bearer

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

HEAL = "/api/v1/heal"


def _feed(app: FastAPI, *containers: dict[str, Any]) -> None:
    snapshot(context_of(app).fleet.inventory, "prod", "node1", list(containers))


async def test_policies_are_checked_whole_and_bad_ones_change_nothing(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    auth = bearer(admin_token)
    for target, body, words in (
        ("default", {"backoff": "soon"}, "bad duration"),
        ("default", {"backoff": "10m"}, "above backoff_max"),
        ("default", {"max_restarts": 0}, "greater than or equal to 1"),
        ("default", {"bogus": 1}, "bogus"),
        ("default", {}, "sets no field"),
        ("Bad Stack!", {"enabled": True}, "stack name"),
        ("shop/bad service", {"enabled": True}, "bad service name"),
        ("default", {"stop_timeout": "1h"}, "at most 5 minutes"),
    ):
        response = await client.put(f"{HEAL}/policies/{target}", json=body, headers=auth)
        assert response.status_code == 422, (target, body, response.text)
        assert words in response.text, (target, body, response.text)
    listed = (await client.get(f"{HEAL}/policies", headers=auth)).json()
    assert listed["layers"] == [] and listed["default"]["enabled"] is False


async def test_set_list_and_remove_layers(client: httpx.AsyncClient, admin_token: str) -> None:
    auth = bearer(admin_token)
    put = await client.put(
        f"{HEAL}/policies/default", json={"enabled": True, "window": "10m"}, headers=auth
    )
    assert put.status_code == 200 and put.json()["fields"] == {"enabled": True, "window": 600.0}
    await client.put(f"{HEAL}/policies/shop/db", json={"enabled": False}, headers=auth)
    listed = (await client.get(f"{HEAL}/policies", headers=auth)).json()
    assert listed["default"]["enabled"] is True and listed["default"]["window"] == 600.0
    assert [(p["target"], p["source"]) for p in listed["layers"]] == [
        ("default", "api"), ("shop/db", "api"),
    ]  # fmt: skip
    gone = await client.delete(f"{HEAL}/policies/shop/db", headers=auth)
    assert [p["target"] for p in gone.json()["layers"]] == ["default"]
    again = await client.delete(f"{HEAL}/policies/shop/db", headers=auth)
    assert again.status_code == 404
    history = (await client.get(f"{HEAL}/history", headers=auth)).json()
    actions = [e["action"] for e in history["items"]]
    assert actions.count("heal.policy.set") == 2 and actions.count("heal.policy.rm") == 2


async def test_a_viewer_reads_but_does_not_change(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    viewer = bearer(await add_user(client, admin_token, "vera", "viewer"))
    assert (await client.get(HEAL, headers=viewer)).status_code == 200
    put = await client.put(f"{HEAL}/policies/default", json={"enabled": True}, headers=viewer)
    assert put.status_code == 403
    assert (await client.post(f"{HEAL}/reset/abc123", headers=viewer)).status_code == 403


async def test_labelled_containers_are_watched_and_bad_labels_say_why(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    _feed(
        app,
        container("c1" * 8, "web", health="healthy", labels={"fleetdeck.autoheal": "true"}),
        container(
            "c2" * 8, "odd", health="healthy", labels={"fleetdeck.autoheal.max_restarts": "lots"}
        ),  # fmt: skip
        container("c3" * 8, "plain", health="healthy"),
    )
    status = (await client.get(HEAL, headers=bearer(admin_token))).json()
    by_name = {c["container"]: c for c in status["containers"]}
    assert set(by_name) == {"web", "odd"}
    assert by_name["web"]["policy_sources"] == ["default", "label"]
    assert by_name["web"]["policy"]["enabled"] is True
    assert by_name["odd"]["phase"] == "disabled" and "whole number" in by_name["odd"]["reason"]


async def test_an_unhealthy_container_is_restarted_and_a_failed_restart_is_audited(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    healer = context_of(app).heal.healer
    labels = {"fleetdeck.autoheal": "true"}
    _feed(app, container("d1" * 8, "sick", health="unhealthy", labels=labels))
    await healer.step()
    await healer.settle()
    history = (await client.get(HEAL + "/history", headers=bearer(admin_token))).json()
    restarts = [e for e in history["items"] if e["action"] == "heal.restart"]
    assert len(restarts) == 1 and restarts[0]["target"] == "prod/node1/sick"
    assert restarts[0]["result"].startswith("error: ")  # no agent link in this test
    assert "restart 1 of 5" in restarts[0]["detail"]["reason"]
    status = (await client.get(HEAL, headers=bearer(admin_token))).json()
    (sick,) = status["containers"]
    assert sick["restarts_in_window"] == 1 and sick["phase"] == "waiting"
    reset = await client.post(f"{HEAL}/reset/{'d1' * 4}", headers=bearer(admin_token))
    assert reset.status_code == 200, reset.text
    assert reset.json()["container"]["restarts_in_window"] == 0


async def test_a_stopped_container_is_not_restarted(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    healer = context_of(app).heal.healer
    labels = {"fleetdeck.autoheal": "true"}
    _feed(app, container("e1" * 8, "off", state="exited", health="unhealthy", labels=labels))
    await healer.step()
    await healer.settle()
    history = (await client.get(HEAL + "/history", headers=bearer(admin_token))).json()
    assert [e for e in history["items"] if e["action"] == "heal.restart"] == []
    reset = await client.post(f"{HEAL}/reset/nothing-like-this", headers=bearer(admin_token))
    assert reset.status_code == 404


async def test_the_auto_heal_page_loads_its_script_under_alerts(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200  # the cookie stays on the client
    page = await client.get("/heal")
    assert page.status_code == 200
    assert 'data-resource="heal"' in page.text and "/static/heal.js" in page.text
    assert 'href="/heal" aria-current="page"' in page.text  # in the Alerts sub-navigation
    assert (await client.get("/static/heal.js")).status_code == 200


async def test_a_deploy_in_progress_holds_healing_back(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    ctx = context_of(app)
    labels = {"fleetdeck.autoheal": "true", "com.docker.compose.project": "shop"}
    _feed(app, container("f1" * 8, "shop-web-1", health="unhealthy", labels=labels, stack="shop"))
    lock = ctx.stacks.lock("shop")
    await lock.acquire()
    try:
        await ctx.heal.healer.step()
        await ctx.heal.healer.settle()
        status = (await client.get(HEAL, headers=bearer(admin_token))).json()
        (held,) = status["containers"]
        assert held["phase"] == "held" and "deploy of stack shop" in held["reason"]
    finally:
        lock.release()
    history = (await client.get(HEAL + "/history", headers=bearer(admin_token))).json()
    actions = [e["action"] for e in history["items"]]
    assert "heal.hold" in actions and "heal.restart" not in actions


async def test_a_deploy_reads_the_compose_files_policy(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    healer = context_of(app).heal.healer
    text = "services:\n  web:\n    image: w\n    x-fleetdeck:\n      autoheal: {max_restarts: 2}\n"

    async def files(stack: str) -> list[tuple[str, str]]:
        return [("compose.yaml", text)] if stack == "shop" else []

    healer.compose_files = files
    context_of(app).fleet.hub.publish(DeployFinished("shop", "prod", ok=True, message="done"))
    await healer.step()
    listed = (await client.get(f"{HEAL}/policies", headers=bearer(admin_token))).json()
    assert [(p["target"], p["source"], p["fields"]) for p in listed["layers"]] == [
        ("shop/web", "compose", {"max_restarts": 2, "enabled": True})
    ]
    labels = {"com.docker.compose.project": "shop", "com.docker.compose.service": "web"}
    web = container("g1" * 8, "shop-web-1", health="healthy", labels=labels, stack="shop",
                    service="web")  # fmt: skip
    _feed(app, web)
    status = (await client.get(HEAL, headers=bearer(admin_token))).json()
    (watched,) = status["containers"]
    assert watched["policy_sources"] == ["default", "compose:shop/web"]
    assert watched["policy"]["max_restarts"] == 2


async def test_a_maintenance_window_holds_healing_back(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    ctx = context_of(app)
    now = ctx.clock.now()
    async with ctx.store.transaction() as session:
        session.add(MaintenanceWindow(environment="prod", starts_at=now - timedelta(minutes=1),
                                      ends_at=now + timedelta(hours=1), reason="disk swap",
                                      created_by="admin"))  # fmt: skip
    labels = {"fleetdeck.autoheal": "true"}
    _feed(app, container("h1" * 8, "db", health="unhealthy", labels=labels))
    await ctx.heal.healer.step()
    await ctx.heal.healer.settle()
    status = (await client.get(HEAL, headers=bearer(admin_token))).json()
    (held,) = status["containers"]
    assert held["phase"] == "held" and "maintenance window (disk swap)" in held["reason"]
    assert held["restarts_in_window"] == 0
