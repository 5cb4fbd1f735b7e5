"""``/api/v1/updates`` through the real app and store: policies checked whole, a round on demand."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .conftest import add_user, bearer

if TYPE_CHECKING:
    import httpx

UPDATES = "/api/v1/updates"


async def test_policies_are_checked_and_roles_apply(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    auth = bearer(admin_token)
    for target, body, words in (
        ("default", {"policy": "sometimes"}, "policy"),
        ("default", {"policy": "auto", "extra": 1}, "extra"),
        ("Bad Stack!", {"policy": "auto"}, "stack name"),
    ):
        answer = await client.put(f"{UPDATES}/policies/{target}", json=body, headers=auth)
        assert answer.status_code == 422 and words in answer.text, (target, answer.text)
    assert (await client.get(f"{UPDATES}/policies", headers=auth)).json() == {
        "default": "notify", "items": [],
    }  # fmt: skip
    answer = await client.put(f"{UPDATES}/policies/shop/web", json={"policy": "auto"}, headers=auth)
    assert answer.status_code == 200 and answer.json()["items"] == [
        {"target": "shop/web", "policy": "auto"}
    ]
    answer = await client.put(f"{UPDATES}/policies/default", json={"policy": "off"}, headers=auth)
    assert answer.json()["default"] == "off"
    gone = await client.delete(f"{UPDATES}/policies/blog", headers=auth)
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    viewer = bearer(await add_user(client, admin_token, "vera", "viewer"))
    assert (await client.get(UPDATES, headers=viewer)).status_code == 200
    assert (await client.post(f"{UPDATES}/check", headers=viewer)).status_code == 403


async def test_a_check_with_nothing_deployed_asks_nobody(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    answer = await client.post(f"{UPDATES}/check", headers=bearer(admin_token))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert (data["references"], data["head_requests"], data["items"]) == (0, 0, [])
    listing = await client.get(UPDATES, headers=bearer(admin_token))
    assert listing.json()["items"] == [] and listing.json()["last_round_at"] is not None


async def test_the_updates_page_shows_the_watch_and_check_now_only_to_operators(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    client.cookies.set("fleetdeck_session", admin_token)
    page = await client.get("/updates")
    assert page.status_code == 200
    assert "Pending image updates" in page.text and "data-updates-check" in page.text
    assert 'href="/updates" aria-current="page"' in page.text  # under Stacks
    viewer = await add_user(client, admin_token, "vic", "viewer")
    client.cookies.set("fleetdeck_session", viewer)
    page = await client.get("/updates")
    assert page.status_code == 200 and "data-updates-check" not in page.text
    client.cookies.clear()
