"""The web UI's pages: login redirects, roles in templates, fragments, static and vendor files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fleetdeck.clock import FrozenClock
from fleetdeck.server.context import context_of
from fleetdeck.server.ui.pages_admin import vendor_path

from .conftest import ADMIN_PASSWORD, add_user, bearer

if TYPE_CHECKING:
    from pathlib import Path

    import httpx
    from fastapi import FastAPI


async def seed(app: FastAPI, client: httpx.AsyncClient, admin_token: str) -> None:
    """Create environment ``lab`` and put two containers of its node3 into the inventory."""
    created = await client.post(
        "/api/v1/environments", json={"name": "lab"}, headers=bearer(admin_token)
    )
    assert created.status_code == 201, created.text
    now = datetime.now(UTC).isoformat()
    containers: list[dict[str, Any]] = [
        {"id": "a" * 64, "name": "web1", "image": "reg/web:1", "state": "running", "created": now},
        {
            "id": "b" * 64,
            "name": "db1",
            "image": "reg/db:1",
            "state": "restarting",
            "health": "unhealthy",
            "created": now,
        },
    ]
    context_of(app).fleet.inventory.apply(
        "lab",
        "node3",
        {"type": "snapshot", "rev": 1, "info": {"hostname": "n3"}, "containers": containers},
    )


async def test_status_text_is_worked_out_when_shown_not_when_the_engine_said_it(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    # Issue #12: "Up 2 seconds (healthy)" next to "Started 30m ago", for good.
    await client.post("/api/v1/environments", json={"name": "lab"}, headers=bearer(admin_token))
    started = datetime.now(UTC) - timedelta(seconds=2)
    context_of(app).fleet.inventory.clock = clock = FrozenClock(started + timedelta(seconds=2))
    web = {
        "id": "c" * 64,
        "name": "web1",
        "image": "reg/web:1",
        "state": "running",
        "status": "Up 2 seconds (healthy)",
        "health": "healthy",
        "created": started.isoformat(),
        "started_at": started.isoformat(),
    }
    context_of(app).fleet.inventory.apply(
        "lab", "node3", {"type": "snapshot", "rev": 1, "info": {"hostname": "n3"},
                         "containers": [web]},
    )  # fmt: skip
    clock.advance(timedelta(minutes=30))
    listed = (await client.get("/api/v1/containers", headers=bearer(admin_token))).json()
    assert [c["status"] for c in listed["items"]] == ["Up 30 minutes (healthy)"]
    client.cookies.set("fleetdeck_session", admin_token)
    for path in ("/containers", "/containers/lab/node3/web1"):
        page = (await client.get(path)).text
        assert "Up 30 minutes (healthy)" in page and "Up 2 seconds" not in page, path
    client.cookies.clear()


async def test_pages_redirect_to_the_login_page_without_a_session(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/", "/containers?state=running", "/environments", "/audit"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2F")
    login = await client.get("/login?next=/containers")
    assert login.status_code == 200
    assert "data-login" in login.text and 'data-next="/containers"' in login.text


async def test_the_login_page_refuses_an_outside_redirect_target(client: httpx.AsyncClient) -> None:
    login = await client.get("/login?next=//evil.example/x")
    assert 'data-next="/"' in login.text


async def test_an_operator_sees_action_buttons_and_a_viewer_none(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    await seed(app, client, admin_token)
    viewer = await add_user(client, admin_token, "vera", "viewer")
    for token, buttons in ((admin_token, True), (viewer, False)):
        client.cookies.set("fleetdeck_session", token)
        page = await client.get("/containers")
        assert page.status_code == 200
        assert "web1" in page.text and "db1" in page.text
        assert ('data-action="stop"' in page.text) is buttons
        detail = await client.get("/containers/lab/node3/web1")
        assert detail.status_code == 200
        assert ('data-action="stop"' in detail.text) is buttons
        assert ("data-console-connect" in detail.text) is buttons
        access = (await client.get("/tokens")).text  # the Access section's sub-navigation
        assert ('href="/users"' in access) is buttons  # admin-only pages only for admins
        assert ('href="/audit"' in access) is buttons
    client.cookies.clear()


async def test_the_dashboard_puts_unhealthy_and_restarting_containers_first(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    await seed(app, client, admin_token)
    client.cookies.set("fleetdeck_session", admin_token)
    body = (await client.get("/ui/fragments/dashboard")).text
    attention = body.split('id="h-attention"')[1].split("</section>")[0]
    assert "db1" in attention and "web1" not in attention
    assert 'data-count="restarting">1<' in body
    client.cookies.clear()


async def test_the_containers_fragment_filters_sorts_and_pages_on_the_server(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    await seed(app, client, admin_token)
    client.cookies.set("fleetdeck_session", admin_token)
    only_running = (await client.get("/ui/fragments/containers?state=running")).text
    assert "web1" in only_running and "db1" not in only_running
    searched = (await client.get("/ui/fragments/containers?q=DB")).text
    assert "db1" in searched and "web1" not in searched
    paged = (await client.get("/ui/fragments/containers?limit=25&sort=name&order=desc")).text
    assert paged.index("web1") < paged.index("db1")
    bad = await client.get("/ui/fragments/containers?offset=x")
    assert bad.status_code == 200 and "offset must be a number" in bad.text
    client.cookies.clear()
    assert (await client.get("/ui/fragments/containers")).status_code == 401


async def test_an_unknown_container_page_says_so(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    client.cookies.set("fleetdeck_session", admin_token)
    response = await client.get("/containers/lab/nope")
    assert response.status_code == 404 and "no environment" in response.text
    client.cookies.clear()


async def test_every_page_renders_for_an_admin(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200  # the cookie stays on the client
    for path in (
        "/",
        "/environments",
        "/images",
        "/volumes",
        "/networks",
        "/swarm",
        "/users",
        "/tokens",
        "/audit",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "<main" in page.text and 'aria-current="page"' in page.text, path
    assert (await client.get("/environments/nope")).status_code == 404


async def test_static_files_are_served_without_login(client: httpx.AsyncClient) -> None:
    for name in ("app.css", "app.js", "containers.js", "container.js", "stats.js"):
        assert (await client.get(f"/static/{name}")).status_code == 200, name
    assert (await client.get("/vendor/not-a-file.js")).status_code == 404


def test_only_listed_vendor_files_are_served(tmp_path: Path) -> None:
    assert vendor_path("xterm.js", tmp_path) is None  # not installed: the page says how
    target = tmp_path / "@xterm/xterm/lib/xterm.js"
    target.parent.mkdir(parents=True)
    target.write_text("// xterm")
    assert vendor_path("xterm.js", tmp_path) == target
    assert vendor_path("../package.json", tmp_path) is None


async def test_the_events_route_needs_a_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/events", headers=bearer("fds_nope"))
    assert response.status_code == 401


async def test_the_upgrade_agents_action_is_an_admins_on_the_environments_page(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    await seed(app, client, admin_token)
    operator = await add_user(client, admin_token, "otto", "operator")
    for token, shown in ((admin_token, True), (operator, False)):
        client.cookies.set("fleetdeck_session", token)
        page = (await client.get("/environments")).text
        assert ("data-agents-upgrade" in page) is shown
        assert ('data-upgrade-run="dry"' in page) is shown
    client.cookies.clear()
