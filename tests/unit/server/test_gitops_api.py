"""GitOps routes in-process: secrets write-only, webhooks verified (401), replays deduped."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from typing import TYPE_CHECKING

from fleetdeck.server.context import context_of

from .conftest import add_user, bearer

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings

TOKEN = "ghp-very-secret-token"  # noqa: S105 - test data
#: On loopback (port 9: refused at once): the sync loop never reaches outside the machine.
URL = "https://127.0.0.1:9/team/shop.git"


async def _add(client: httpx.AsyncClient, admin: str, **extra: object) -> httpx.Response:
    body = {"name": "shop", "url": URL, "username": "ci", "token": TOKEN, **extra}
    return await client.post("/api/v1/repos", json=body, headers=bearer(admin))


async def test_the_token_is_never_returned_and_is_stored_sealed(
    client: httpx.AsyncClient, admin_token: str, settings: ServerSettings
) -> None:
    created = await _add(client, admin_token)
    assert created.status_code == 201, created.text
    assert created.json()["auth"] == "token"
    assert created.json()["webhook_path"] == "/api/v1/repos/shop/webhook"
    viewer = await add_user(client, admin_token, "vera", "viewer")
    listed = await client.get("/api/v1/repos", headers=bearer(viewer))
    assert [r["name"] for r in listed.json()] == ["shop"]
    hook = await client.get("/api/v1/repos/shop/webhook", headers=bearer(viewer))
    assert hook.status_code == 403  # the webhook secret is an admin's
    audit = await client.get("/api/v1/audit", headers=bearer(admin_token))
    for text in (created.text, listed.text, audit.text):
        assert TOKEN not in text
    with sqlite3.connect(settings.data_dir / "fleetdeck.db") as conn:
        dump = "\n".join(conn.iterdump())
    conn.close()
    assert TOKEN not in dump


async def test_bad_repository_input_is_refused_before_anything_is_stored(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    cases = [
        {"url": "https://ci:pw@127.0.0.1/x.git"},  # credentials in the URL
        {"url": "file:///etc"},  # a local path
        {"url": "ext::sh -c touch% /tmp/pwned"},  # git's ext transport
        {"url": "git@127.0.0.1:team/x.git", "token": TOKEN},  # a token over SSH
        {"name": "Bad Name"},
    ]
    for case in cases:
        answer = await _add(client, admin_token, **case)
        assert answer.status_code == 422, (case, answer.text)
    assert (await client.get("/api/v1/repos", headers=bearer(admin_token))).json() == []


def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_webhooks_are_verified_deduped_and_queue_one_sync(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    service = context_of(app).gitops
    assert service is not None
    await service.stop()  # no sync runs: what the deliveries queue stays visible
    await _add(client, admin_token)
    secret = (await client.get("/api/v1/repos/shop/webhook", headers=bearer(admin_token))).json()
    assert secret["url"].endswith("/api/v1/repos/shop/webhook")
    key, body, url = secret["secret"], b'{"ref": "refs/heads/main"}', "/api/v1/repos/shop/webhook"
    for headers in (
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Gitea-Signature": _sign("wrong", body)},
        {"X-Gitlab-Token": "wrong"},
        {"X-Fleetdeck-Signature": _sign(key, body)},  # the prefix is missing
    ):
        answer = await client.post(url, content=body, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
    signed = {"X-Hub-Signature-256": "sha256=" + _sign(key, body)}
    unknown = await client.post("/api/v1/repos/nope/webhook", content=body, headers=signed)
    assert unknown.status_code == 401  # the same answer as a bad signature
    for headers, scheme in (
        ({"X-Hub-Signature-256": "sha256=" + _sign(key, body), "X-GitHub-Delivery": "1"}, "github"),
        ({"X-Gitea-Signature": _sign(key, body), "X-Gitea-Delivery": "2"}, "gitea"),
        ({"X-Gitlab-Token": key, "X-Gitlab-Event-UUID": "3"}, "gitlab"),
        ({"X-Fleetdeck-Signature": "sha256=" + _sign(key, body)}, "generic"),
    ):
        answer = await client.post(url, content=body, headers=headers)
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"accepted": True, "duplicate": False, "scheme": scheme}
    replay = await client.post(url, content=body, headers={
        "X-Hub-Signature-256": "sha256=" + _sign(key, body), "X-GitHub-Delivery": "1"})  # fmt: skip
    assert replay.json()["duplicate"] is True
    assert service._wanted == {"shop"}  # every delivery, one wanted repository: one sync


async def test_a_stack_source_names_paths_inside_the_repository(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    await _add(client, admin_token)
    base = {"environment": "nowhere", "repo": "shop"}
    for case in ({"path": "../etc"}, {"compose_files": ["/etc/passwd"]},
                 {"env_file": "a/../../b"}, {"ref": "--upload-pack=sh"}):  # fmt: skip
        answer = await client.put("/api/v1/stacks/web/source", json=base | case,
                                  headers=bearer(admin_token))  # fmt: skip
        assert answer.status_code == 422, (case, answer.text)
    missing = await client.get("/api/v1/stacks/web/source", headers=bearer(admin_token))
    assert missing.status_code == 404


async def test_the_repositories_page_shows_the_webhook_url_and_the_secret_to_admins_only(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    await _add(client, admin_token)
    secret = (await client.get("/api/v1/repos/shop/webhook", headers=bearer(admin_token))).json()
    page = await client.get("/repos", headers=bearer(admin_token))
    assert page.status_code == 200
    assert secret["url"] in page.text and secret["secret"] in page.text
    viewer = await add_user(client, admin_token, "vic", "viewer")
    seen = await client.get("/repos", headers=bearer(viewer))
    assert secret["url"] in seen.text and secret["secret"] not in seen.text
    assert TOKEN not in page.text + seen.text
