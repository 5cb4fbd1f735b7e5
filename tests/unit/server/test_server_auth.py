"""Roles, users, API tokens, login throttling and the audit trail of all of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.errors import RateLimitedError
from fleetdeck.server.auth.ratelimit import LoginRateLimiter

from .conftest import ADMIN_PASSWORD, USER_PASSWORD, add_user, bearer, login

if TYPE_CHECKING:
    import httpx


async def audit_entries(client: httpx.AsyncClient, token: str, **filters: str) -> list[Any]:
    response = await client.get("/api/v1/audit", params=filters, headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_roles_are_enforced(client: httpx.AsyncClient, admin_token: str) -> None:
    viewer = await add_user(client, admin_token, "vera", "viewer")
    operator = await add_user(client, admin_token, "otto", "operator")
    new_user = {"username": "x1", "password": USER_PASSWORD, "role": "viewer"}
    # A viewer may read but not change: registries are readable, adding one is admin work.
    assert (await client.get("/api/v1/registries", headers=bearer(viewer))).status_code == 200
    denied = await client.post(
        "/api/v1/registries", json={"name": "r", "url": "r.example"}, headers=bearer(viewer)
    )
    assert denied.status_code == 403
    assert denied.json()["error"] == "permission_denied"
    assert "admin" in denied.json()["message"]
    # An operator cannot manage users.
    for method, path, body in (
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", new_user),
        ("PATCH", "/api/v1/users/vera", {"role": "admin"}),
        ("DELETE", "/api/v1/users/vera", None),
        ("GET", "/api/v1/audit", None),
    ):
        response = await client.request(method, path, json=body, headers=bearer(operator))
        assert response.status_code == 403, (method, path, response.text)
    # An admin can.
    created = await client.post("/api/v1/users", json=new_user, headers=bearer(admin_token))
    assert created.status_code == 201
    assert set(created.json()) == {"username", "role", "created_at", "disabled"}
    patched = await client.patch(
        "/api/v1/users/x1", json={"role": "operator"}, headers=bearer(admin_token)
    )
    assert patched.json()["role"] == "operator"
    listed = (await client.get("/api/v1/users", headers=bearer(admin_token))).json()
    assert [u["username"] for u in listed] == ["admin", "otto", "vera", "x1"]
    assert all("password" not in str(u) for u in listed)
    assert (await client.delete("/api/v1/users/x1", headers=bearer(admin_token))).json() == {
        "ok": True
    }


async def test_user_changes_are_audited_and_guarded(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    await add_user(client, admin_token, "bob", "viewer")
    duplicate = await client.post(
        "/api/v1/users",
        json={"username": "bob", "password": USER_PASSWORD, "role": "viewer"},
        headers=bearer(admin_token),
    )
    assert duplicate.status_code == 409
    await client.patch(
        "/api/v1/users/bob", json={"password": "another-pass-1"}, headers=bearer(admin_token)
    )
    last_admin = await client.delete("/api/v1/users/admin", headers=bearer(admin_token))
    assert last_admin.status_code == 409 and "last enabled admin" in last_admin.json()["message"]
    entries = await audit_entries(client, admin_token, action="user.")
    seen = [(e["actor"], e["action"], e["target"], e["result"]) for e in entries]
    assert ("admin", "user.create", "bob", "ok") in seen
    assert ("admin", "user.create", "bob", "error: user 'bob' exists already") in seen
    assert ("admin", "user.update", "bob", "ok") in seen
    assert (
        "admin",
        "user.delete",
        "admin",
        "error: cannot delete 'admin': it is the last enabled admin",
    ) in seen
    update = next(e for e in entries if e["action"] == "user.update")
    # Never the password itself; the client's address, as on every audited change.
    assert update["detail"] == {"password": "changed", "ip": "127.0.0.1"}
    assert "another-pass-1" not in str(entries)


async def test_disabling_a_user_ends_their_sessions(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    token = await add_user(client, admin_token, "carol", "operator")
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
    await client.patch("/api/v1/users/carol", json={"disabled": True}, headers=bearer(admin_token))
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
    refused = await client.post(
        "/api/v1/auth/login", json={"username": "carol", "password": USER_PASSWORD}
    )
    assert refused.status_code == 401


async def test_api_tokens_are_scoped_to_their_role_and_revocable(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    operator = await add_user(client, admin_token, "otto", "operator")
    too_high = await client.post(
        "/api/v1/tokens", json={"name": "ci", "role": "admin"}, headers=bearer(operator)
    )
    assert too_high.status_code == 403
    made = await client.post(
        "/api/v1/tokens",
        json={"name": "ci", "role": "viewer", "expires_in_days": 30},
        headers=bearer(operator),
    )
    assert made.status_code == 201, made.text
    created = made.json()
    secret = created["token"]
    assert secret.startswith("fdt_") and created["role"] == "viewer" and not created["revoked"]
    me = (await client.get("/api/v1/auth/me", headers=bearer(secret))).json()
    assert me["username"] == "otto" and me["role"] == "viewer" and me["token_id"] == created["id"]
    # The token acts as a viewer although its owner is an operator.
    denied = await client.post(
        "/api/v1/tokens", json={"name": "x", "role": "operator"}, headers=bearer(secret)
    )
    assert denied.status_code == 403
    listed = (await client.get("/api/v1/tokens", headers=bearer(operator))).json()
    assert [t["name"] for t in listed] == ["ci"]
    assert listed[0]["last_used_at"] is not None
    assert "token" not in listed[0] and secret not in str(listed)
    # Someone else's token is invisible to a non-admin; an admin sees every token.
    viewer = await add_user(client, admin_token, "vera", "viewer")
    hidden = await client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(viewer))
    assert hidden.status_code == 404
    other = await client.get("/api/v1/tokens", params={"user": "otto"}, headers=bearer(viewer))
    assert other.status_code == 403
    everyone = (await client.get("/api/v1/tokens", headers=bearer(admin_token))).json()
    assert [(t["user"], t["name"]) for t in everyone] == [("otto", "ci")]
    revoked = await client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(operator))
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert (await client.get("/api/v1/auth/me", headers=bearer(secret))).status_code == 401
    actions = [
        (e["actor"], e["action"], e["result"])
        for e in await audit_entries(client, admin_token, action="token.")
    ]
    assert ("otto", "token.create", "ok") in actions
    assert ("otto", "token.revoke", "ok") in actions
    assert ("vera", "token.revoke", f"error: no token {created['id']!r}") in actions


async def test_a_demoted_user_s_tokens_shrink_with_them(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    operator = await add_user(client, admin_token, "otto", "operator")
    made = await client.post("/api/v1/tokens", json={"name": "t"}, headers=bearer(operator))
    secret = made.json()["token"]
    assert made.json()["role"] == "operator"
    await client.patch("/api/v1/users/otto", json={"role": "viewer"}, headers=bearer(admin_token))
    me = (await client.get("/api/v1/auth/me", headers=bearer(secret))).json()
    assert me["role"] == "viewer"


async def test_failed_logins_are_throttled_and_audited(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    wrong = {"username": "admin", "password": "not-the-password"}
    for _ in range(5):
        response = await client.post("/api/v1/auth/login", json=wrong)
        assert response.status_code == 401
    throttled = await client.post("/api/v1/auth/login", json=wrong)
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "rate_limited"
    assert 0 < int(throttled.headers["retry-after"]) <= 60
    # Even the right password waits: otherwise guessing could simply continue.
    right = await client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert right.status_code == 429
    # Another username from the same address is not affected.
    await add_user(client, admin_token, "dora", "viewer")
    # One row for the five failures of admin from this address, counting them.
    failures = await audit_entries(client, admin_token, action="auth.login", target="admin")
    errors = [e for e in failures if e["result"] != "ok"]
    assert len(errors) == 1
    assert errors[0]["result"] == "error: invalid username or password"
    assert errors[0]["detail"]["ip"] == "127.0.0.1" and errors[0]["detail"]["count"] == 5


def test_the_limiter_forgets_failures_after_the_window() -> None:
    now = [1000.0]
    limiter = LoginRateLimiter(max_failures=2, window=60, clock=lambda: now[0])
    limiter.attempt("u", "1.2.3.4")
    now[0] += 30
    limiter.attempt("u", "1.2.3.4")
    try:
        limiter.attempt("u", "1.2.3.4")
    except RateLimitedError as exc:
        assert exc.retry_after == 30
        assert exc.http_status == 429
    else:
        raise AssertionError("expected RateLimitedError")
    limiter.attempt("u", "5.6.7.8").succeeded()  # per IP
    now[0] += 30
    limiter.attempt("u", "1.2.3.4").succeeded()  # the first failure aged out
    limiter.attempt("u", "1.2.3.4")  # and a success forgot the others


async def test_audit_listing_filters_and_pages(client: httpx.AsyncClient, admin_token: str) -> None:
    for name in ("a1", "a2", "a3"):
        await add_user(client, admin_token, name, "viewer")
    page = await client.get(
        "/api/v1/audit",
        params={"action": "user.create", "limit": 2, "offset": 0},
        headers=bearer(admin_token),
    )
    body = page.json()
    assert body["total"] == 4  # the three, and the first admin at start-up
    assert [e["target"] for e in body["items"]] == ["a3", "a2"]
    assert set(body["items"][0]) == {"id", "time", "actor", "action", "target", "result", "detail"}
    bad = await client.get("/api/v1/audit", params={"limit": "lots"}, headers=bearer(admin_token))
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"


async def test_logout_via_bearer_session(client: httpx.AsyncClient) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    out = await client.post("/api/v1/auth/logout", headers=bearer(token))
    assert out.json() == {"ok": True, "session_ended": True}
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
