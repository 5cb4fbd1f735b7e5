"""The stacks pages: in the navigation, role-aware shells, environments offered for deploys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .conftest import add_user, bearer

if TYPE_CHECKING:
    import httpx


async def test_stacks_pages_are_role_aware(client: httpx.AsyncClient, admin_token: str) -> None:
    created = await client.post(
        "/api/v1/environments", json={"name": "lab"}, headers=bearer(admin_token)
    )
    assert created.status_code == 201, created.text
    viewer = await add_user(client, admin_token, "vic", "viewer")
    for token, operator in ((admin_token, True), (viewer, False)):
        client.cookies.set("fleetdeck_session", token)
        listing = await client.get("/stacks")
        assert listing.status_code == 200
        assert 'href="/stacks"' in listing.text  # in the navigation
        assert ("data-new-stack" in listing.text) is operator
        page = await client.get("/stacks/shop?environment=lab")
        assert page.status_code == 200
        assert 'data-name="shop"' in page.text and 'data-environment="lab"' in page.text
        assert ("data-stack-deploy" in page.text) is operator
        assert ("data-variable-form" in page.text) is operator
        assert ("readonly" in page.text) is not operator  # a viewer's editor is read-only
        new = await client.get("/stacks/new")
        assert new.status_code == 200 and "services:" in new.text
        assert ('<option value="lab"' in new.text) is operator
    bad = await client.get("/stacks/Not%20A%20Name")
    assert bad.status_code == 404
    client.cookies.clear()


async def test_stacks_pages_need_a_session(client: httpx.AsyncClient) -> None:
    for path in ("/stacks", "/stacks/new", "/stacks/shop"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_the_environment_and_stack_pages_show_admins_allowances(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    created = await client.post(
        "/api/v1/environments", json={"name": "lab"}, headers=bearer(admin_token)
    )
    assert created.status_code == 201, created.text
    client.cookies.set("fleetdeck_session", admin_token)
    page = await client.get("/environments/lab")
    assert "data-env-stack-allowances>none" in page.text
    allowed = await client.put(
        "/api/v1/environments/lab/stack-allowances",
        json={"rules": ["privileged", "host-pid"]},
        headers=bearer(admin_token),
    )
    assert allowed.status_code == 200, allowed.text
    page = await client.get("/environments/lab")
    assert "data-env-stack-allowances>host-pid, privileged<" in page.text
    stack = await client.get("/stacks/shop")
    assert "data-stack-allowances" in stack.text  # filled from GET /stacks/shop/allowances
    client.cookies.clear()
