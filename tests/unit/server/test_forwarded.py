"""Behind a reverse proxy: X-Forwarded-For/-Proto believed from the trusted proxies only.

The app is reached over plain HTTP here, as a TLS-terminating proxy on loopback would reach a
``--no-tls`` server: the secure cookie, HSTS and the Origin check then depend on the scheme
the proxy reports, and the audit log and login throttling on the client it reports.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.config import ServerSettings
from fleetdeck.server.forwarded import ForwardedMiddleware, parse_networks

from .conftest import ADMIN_PASSWORD

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI

PROXY = "10.0.0.2"
STRANGER = "10.0.0.9"
BROWSER = "198.51.100.7"
PUBLIC = "https://fleet.example"
LOGIN = "/api/v1/auth/login"


@pytest.fixture
def settings(tmp_path: Path) -> ServerSettings:
    """A server without TLS of its own behind a proxy at ``PROXY`` (named by its /31)."""
    return ServerSettings.load(
        data_dir=tmp_path / "data",
        listen="127.0.0.1:18080",
        tls=False,
        admin_password=ADMIN_PASSWORD,
        forwarded_allow_ips=["10.0.0.2/31", "::1"],
        public_url=PUBLIC + "/",
        agent_url="https://10.0.0.1:8443",
    )


def peer(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose TCP connections come from ``address``, over plain HTTP."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://fleet.example")


def forwarded(client: str = BROWSER, proto: str = "https") -> dict[str, str]:
    """What Caddy or nginx adds to a browser's request."""
    return {"X-Forwarded-For": client, "X-Forwarded-Proto": proto}


async def audit_of(app: FastAPI, action: str) -> list[dict[str, object] | None]:
    """The details of the audit entries of ``action``, newest first (read from the log)."""
    entries, _ = await app.state.context.audit.list(action=action)
    return [entry.detail for entry in entries]


def test_the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy() -> None:
    middleware = ForwardedMiddleware(app=None, trusted=parse_networks(["10.0.0.0/30"]))  # type: ignore[arg-type]
    # A client's own claim at the left is ignored: the nearest proxy appended what it saw.
    assert middleware.client_of(PROXY, f"6.6.6.6, {BROWSER}") == BROWSER
    # Proxies in a chain are skipped.
    assert middleware.client_of(PROXY, f"{BROWSER}, 10.0.0.1") == BROWSER
    # Ports and IPv6 brackets are dropped; IPv4-mapped IPv6 is the IPv4 address.
    assert middleware.client_of(PROXY, f"{BROWSER}:5555") == BROWSER
    assert middleware.client_of(PROXY, "[2001:db8::7]:443") == "2001:db8::7"
    assert middleware.client_of(PROXY, f"::ffff:{BROWSER}") == BROWSER
    # What is not an address ends the walk at the last hop a trusted proxy vouched for.
    assert middleware.client_of(PROXY, f"{BROWSER}, unknown") == PROXY
    assert middleware.is_trusted("10.0.0.3") and not middleware.is_trusted("10.0.0.4")
    assert not middleware.is_trusted("testclient")


@pytest.mark.parametrize(
    ("value", "why"),
    [("*", "would believe any client"), ("10.0.0.300", "not an address"), ("proxy", "not an")],
)
def test_bad_trusted_proxy_entries_stop_the_start(tmp_path: Path, value: str, why: str) -> None:
    with pytest.raises(InvalidInputError, match=why):
        ServerSettings.load(data_dir=tmp_path, forwarded_allow_ips=value)


def test_server_takes_public_url_as_a_flag_and_the_proxies_from_the_environment(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from fleetdeck.cli.main import app

    args = ["server", "--data-dir", str(tmp_path), "--public-url", PUBLIC, "--print-config"]
    env = {"FLEETDECK_FORWARDED_ALLOW_IPS": "10.0.0.2,192.168.1.0/24"}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["public_url"] == PUBLIC
    assert shown["forwarded_allow_ips"] == ["10.0.0.2", "192.168.1.0/24"]


def test_a_public_url_must_be_an_origin(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="public_url"):
        ServerSettings.load(data_dir=tmp_path, public_url="https://fleet.example/sub/path")
    settings = ServerSettings.load(data_dir=tmp_path, public_url=" https://fleet.example/ ")
    assert settings.public_url == PUBLIC and settings.allowed_origins == [PUBLIC]


async def test_a_trusted_proxy_s_client_and_scheme_are_believed(app: FastAPI) -> None:
    async with peer(app, PROXY) as proxy:
        answer = await proxy.post(
            LOGIN,
            json={"username": "admin", "password": ADMIN_PASSWORD},
            headers={**forwarded(), "Origin": PUBLIC},
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["token"]
        # Secure: the browser came over HTTPS, though the server has no TLS of its own.
        assert "secure" in answer.headers["set-cookie"].lower()
        assert "strict-transport-security" in answer.headers
        # A cookie change from the public URL's page passes the Origin check...
        proxy.cookies.set("fleetdeck_session", token)
        created = await proxy.post(
            "/api/v1/environments",
            json={"name": "behind-proxy"},
            headers={**forwarded(), "Origin": PUBLIC, "Sec-Fetch-Site": "same-origin"},
        )
        assert created.status_code == 201, created.text
        # ... and the agent command names the server's own address, not the proxy's.
        assert "--server https://10.0.0.1:8443 " in created.json()["agent_command"]
        # The Host-derived origin has the scheme the proxy reported, https, not http.
        by_host = await proxy.post(
            "/api/v1/auth/logout",
            headers={**forwarded(), "Origin": "https://fleet.example"},
        )
        assert by_host.status_code == 200, by_host.text
    assert (await audit_of(app, "auth.login"))[0] == {"ip": BROWSER}
    assert (await audit_of(app, "environment.create"))[0] == {"ip": BROWSER}
    assert (await audit_of(app, "auth.logout"))[0] == {"ip": BROWSER}


async def test_forwarded_headers_from_an_untrusted_address_are_not_believed(
    app: FastAPI,
) -> None:
    async with peer(app, STRANGER) as stranger:
        answer = await stranger.post(
            LOGIN,
            json={"username": "admin", "password": ADMIN_PASSWORD},
            headers=forwarded(client="203.0.113.50"),
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["token"]
        # Plain HTTP as far as the server can tell: no Secure cookie, no HSTS.
        assert "secure" not in answer.headers["set-cookie"].lower()
        assert "strict-transport-security" not in answer.headers
        # Its claimed https scheme does not make an https Origin match the Host either.
        stranger.cookies.set("fleetdeck_session", token)
        refused = await stranger.post(
            "/api/v1/environments",
            json={"name": "not-believed"},
            headers={**forwarded(), "Origin": "https://fleet.example:8444"},
        )
        assert refused.status_code == 403, refused.text
    assert (await audit_of(app, "auth.login"))[0] == {"ip": STRANGER}


async def test_login_throttling_counts_the_real_clients_behind_one_proxy(
    app: FastAPI, settings: ServerSettings
) -> None:
    wrong = {"username": "admin", "password": "wrong-password"}
    async with peer(app, PROXY) as proxy:
        for _ in range(settings.login_max_failures):
            answer = await proxy.post(LOGIN, json=wrong, headers=forwarded(client="192.0.2.1"))
            assert answer.status_code == 401
        throttled = await proxy.post(LOGIN, json=wrong, headers=forwarded(client="192.0.2.1"))
        assert throttled.status_code == 429
        # Another browser behind the same proxy is not locked out by the first one's guesses.
        other = await proxy.post(
            LOGIN,
            json={"username": "admin", "password": ADMIN_PASSWORD},
            headers=forwarded(client="192.0.2.2"),
        )
        assert other.status_code == 200, other.text
    # And a stranger who claims to be the throttled client is counted as itself.
    async with peer(app, STRANGER) as stranger:
        answer = await stranger.post(LOGIN, json=wrong, headers=forwarded(client="192.0.2.2"))
        assert answer.status_code == 401
    failed = [d for d in await audit_of(app, "auth.login") if d and "count" in d]
    assert sorted((d["ip"], d["count"]) for d in failed) == [
        (STRANGER, 1),
        ("192.0.2.1", settings.login_max_failures),
    ]
