"""Channel URLs are write-only: masked to scheme and host for every role, revealed on request.

Issue #11 finding 7: ``GET /channels`` used to serve Apprise's privacy rendering, which keeps
header and payload parameters (``+Authorization=Bearer …``, ``:apikey=…``) in clear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from fleetdeck.server.alerts import remask_channel_urls
from fleetdeck.server.alerts.channels import mask_url, scrub_urls
from fleetdeck.server.context import context_of
from fleetdeck.server.store.models_alerts import NotificationChannel

from .conftest import add_user, bearer

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

BEARER = "bearer-secret-1"  # noqa: S105 - test data
TOKEN = "x-token-secret-2"  # noqa: S105
APIKEY = "apikey-secret-3"
PASSWORD = "password-secret-4"  # noqa: S105
LEAKY = (
    f"json://hookuser:{PASSWORD}@hooks.example:8080/alerts/path"
    f"?+Authorization=Bearer%20{BEARER}&+X-Token={TOKEN}&:apikey={APIKEY}"
)
SECRETS = (BEARER, TOKEN, APIKEY, PASSWORD, "hookuser", "8080", "alerts/path")


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (LEAKY, "json://hooks.example/***"),
        ("jsons://10.1.2.3/x?+Authorization=Bearer%20abc", "jsons://10.1.2.3/***"),
        ("json://[fd00::1]:9000/x", "json://[fd00::1]/***"),
        ("json://localhost:9/x", "json://localhost/***"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "slack://***"),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://***"),
        ("ntfy://secrettopic", "ntfy://***"),
        ("tgram://123456789:abcdefg_hijklmnop/12315544/", "tgram://***"),
        ("MAILTOS://user:pass@mail.example?to=ops@example.com", "mailtos://mail.example/***"),
        ("json://hooks.example/***", "json://hooks.example/***"),  # masking is idempotent
        ("no scheme", "***"),
    ],
)
def test_mask_url_keeps_only_scheme_and_a_real_host(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_urls_in_error_text_are_masked() -> None:
    text = f"could not reach {LEAKY} within 5s; 'ntfy://topic' refused"
    scrubbed = scrub_urls(text)
    assert scrubbed == "could not reach json://hooks.example/*** within 5s; 'ntfy://***' refused"


async def test_every_role_sees_channel_urls_masked_and_only_admins_reveal_them(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    created = await client.post(
        "/api/v1/channels", json={"name": "hook", "url": LEAKY}, headers=bearer(admin_token)
    )
    assert created.status_code == 201, created.text
    viewer = await add_user(client, admin_token, "vic", "viewer")
    operator = await add_user(client, admin_token, "otto", "operator")
    for token in (viewer, operator, admin_token):
        listed = await client.get("/api/v1/channels", headers=bearer(token))
        assert listed.status_code == 200, listed.text
        assert [c["url"] for c in listed.json()] == ["json://hooks.example/***"]
        assert not any(secret in listed.text for secret in SECRETS)
    for token in (viewer, operator):
        denied = await client.get("/api/v1/channels/hook/url", headers=bearer(token))
        assert denied.status_code == 403, denied.text
    revealed = await client.get("/api/v1/channels/hook/url", headers=bearer(admin_token))
    assert revealed.status_code == 200 and revealed.json() == {"name": "hook", "url": LEAKY}
    audit = await client.get(
        "/api/v1/audit", params={"action": "channel.reveal"}, headers=bearer(admin_token)
    )
    assert [(e["actor"], e["target"]) for e in audit.json()["items"]] == [("admin", "hook")]
    missing = await client.get("/api/v1/channels/nope/url", headers=bearer(admin_token))
    assert missing.status_code == 404


async def test_a_failed_delivery_error_does_not_name_the_url_in_clear(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    url = f"json://127.0.0.1:9/none?+X-Token={TOKEN}"
    await client.post(
        "/api/v1/channels", json={"name": "nowhere", "url": url}, headers=bearer(admin_token)
    )
    result = await client.post("/api/v1/channels/nowhere/test", headers=bearer(admin_token))
    assert result.status_code == 200 and result.json()["status"] == "failed", result.text
    history = await client.get("/api/v1/deliveries", headers=bearer(admin_token))
    for text in (result.text, history.text):
        assert TOKEN not in text


async def test_renderings_stored_by_older_versions_are_masked_at_start(app: FastAPI) -> None:
    store = context_of(app).store
    sealed = context_of(app).secrets.seal(LEAKY, "channel:old")
    async with store.transaction() as session:
        session.add(
            NotificationChannel(
                name="old",
                kind="json",
                url_encrypted=sealed,
                min_severity="info",
                url_masked=LEAKY.replace(PASSWORD, "****"),
                enabled=True,
            )  # fmt: skip
        )
    assert await remask_channel_urls(store) == 1
    assert await remask_channel_urls(store) == 0
    async with store.session() as session:
        stored = await session.scalar(
            select(NotificationChannel.url_masked).where(NotificationChannel.name == "old")
        )
    assert stored == "json://hooks.example/***"
