"""The table pages over the API: registries under Resources for everyone, Swarm's script."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.server import ui

from .conftest import add_user, bearer

if TYPE_CHECKING:
    import httpx

TEMPLATES = Path(ui.__file__).parent / "templates"


async def test_every_role_sees_the_registries_page_and_only_admins_get_its_actions(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    viewer = await add_user(client, admin_token, "vera", "viewer")
    for token, admin in ((admin_token, "1"), (viewer, "")):
        client.cookies.set("fleetdeck_session", token)
        nav = (await client.get("/")).text
        assert 'href="/images"' in nav and ">Resources<" in nav  # the section's entry
        images = (await client.get("/images")).text
        assert 'href="/registries"' in images  # in the Resources sub-navigation
        page = await client.get("/registries")
        assert page.status_code == 200
        assert 'data-resource="registries"' in page.text
        assert f'data-is-admin="{admin}"' in page.text
        assert "/static/swarm.js" not in page.text
    client.cookies.clear()


async def test_a_registry_password_is_never_served_back(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    secret = "never-shown-9f3a"  # noqa: S105 - the value the test looks for
    body = {"name": "corp", "url": "https://reg.corp:5000", "username": "ci", "password": secret}
    created = await client.post("/api/v1/registries", json=body, headers=bearer(admin_token))
    assert created.status_code == 201, created.text
    client.cookies.set("fleetdeck_session", admin_token)
    for path in ("/registries", "/api/v1/registries", "/static/resources.js"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert secret not in response.text, path
    assert "corp" in (await client.get("/api/v1/registries")).text
    client.cookies.clear()


async def test_the_swarm_page_loads_its_script_before_the_table_engine(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    client.cookies.set("fleetdeck_session", admin_token)
    page = (await client.get("/swarm")).text
    # No environment of this server is a Swarm: the page is its empty state alone.
    assert "data-swarm-empty" in page and "/static/resources.js" not in page
    template = (TEMPLATES / "resource.html").read_text()
    assert template.index("/static/swarm.js") < template.index("/static/resources.js")
    script = await client.get("/static/swarm.js")
    assert script.status_code == 200
    assert "window.fleetdeckSwarm" in script.text
    client.cookies.clear()


async def test_the_navigation_fits_ten_entries_and_sections_mark_their_page(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    client.cookies.set("fleetdeck_session", admin_token)
    page = (await client.get("/volumes")).text
    main = page.split('<nav id="nav"', 1)[1].split("</nav>", 1)[0]
    assert main.count("<a ") == 10
    assert 'href="/images" aria-current="page">Resources' in main
    sub = page.split('<nav class="subnav"', 1)[1].split("</nav>", 1)[0]
    assert 'aria-label="Resources"' in sub
    assert 'href="/volumes" aria-current="page">Volumes' in sub
    assert [label in sub for label in ("Images", "Networks", "Registries")] == [True] * 3
    client.cookies.clear()
