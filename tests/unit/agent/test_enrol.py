"""Enrolment against a small fake of the server's two enrolment routes (over real TLS)."""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from fleetdeck import errors, pki
from fleetdeck.agent.enrol import enrol, ensure_enrolled, server_error
from fleetdeck.agent.tls import AgentCredentials

if TYPE_CHECKING:
    import ssl
    from collections.abc import AsyncIterator
    from pathlib import Path


@dataclass
class FakeServer:
    """The server's ``/api/v1/ca`` and ``/api/v1/agents/enrol``, as the contract has them."""

    ca: pki.CertificateAuthority
    secret: str
    url: str = ""
    enrolments: list[dict[str, str]] = field(default_factory=list)

    async def get_ca(self, request: web.Request) -> web.Response:
        """``GET /api/v1/ca``."""
        return web.Response(body=pki.cert_pem(self.ca.cert), content_type="application/x-pem-file")

    async def post_enrol(self, request: web.Request) -> web.Response:
        """``POST /api/v1/agents/enrol``."""
        body = await request.json()
        self.enrolments.append(body)
        _, secret = pki.parse_join_token(body["join_token"])
        if secret != self.secret:
            error = {"error": "unauthenticated", "message": "invalid join token", "hint": None}
            return web.json_response(error, status=401)
        cert = self.ca.sign_csr(body["csr_pem"].encode(), body["hostname"], ["127.0.0.1"], [])
        answer = {
            "cert_pem": pki.cert_pem(cert).decode(),
            "ca_pem": pki.cert_pem(self.ca.cert).decode(),
            "environment": "home",
            "node": body["hostname"],
        }
        return web.json_response(answer)


def _server_tls(ca: pki.CertificateAuthority, directory: Path) -> ssl.SSLContext:
    import ssl

    key = pki.new_key()
    cert = ca.issue("server", key.public_key(), ip_addresses=["127.0.0.1"], client=False)
    pki.write_private(directory / "server.key", pki.key_pem(key))
    (directory / "server.pem").write_bytes(pki.cert_pem(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return context


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[FakeServer]:
    ca = pki.CertificateAuthority.create()
    token, secret = pki.new_join_token(ca.fingerprint)
    fake = FakeServer(ca, secret)
    app = web.Application()
    app.router.add_get("/api/v1/ca", fake.get_ca)
    app.router.add_post("/api/v1/agents/enrol", fake.post_enrol)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=_server_tls(ca, tmp_path))
    await site.start()
    fake.url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    yield fake
    await runner.cleanup()


def token_for(server: FakeServer) -> str:
    return f"{pki.JOIN_TOKEN_PREFIX}{server.ca.fingerprint}-{server.secret}"


async def test_enrol_stores_key_certificate_and_ca(server: FakeServer, tmp_path: Path) -> None:
    creds = AgentCredentials(tmp_path / "state")
    creds.state_dir.mkdir()
    record = await enrol(
        creds,
        server=server.url + "/",
        join_token=token_for(server),
        listen_url="https://127.0.0.1:9001",
        hostname="host-a",
    )
    assert record["environment"] == "home"
    assert record["node"] == "host-a"
    assert creds.exist()
    assert stat.S_IMODE(creds.key_path.stat().st_mode) == 0o600
    assert pki.load_cert(creds.ca_path.read_bytes()) == server.ca.cert
    cert = pki.load_cert(creds.cert_path.read_bytes())
    assert cert.issuer == server.ca.cert.subject
    assert json.loads(creds.record_path.read_text())["server"] == server.url
    (sent,) = server.enrolments
    assert sent["listen_url"] == "https://127.0.0.1:9001"
    assert sent["csr_pem"].startswith("-----BEGIN CERTIFICATE REQUEST-----")


async def test_a_ca_with_another_fingerprint_is_refused_before_the_secret_is_sent(
    server: FakeServer, tmp_path: Path
) -> None:
    other_ca = pki.CertificateAuthority.create()
    token = f"{pki.JOIN_TOKEN_PREFIX}{other_ca.fingerprint}-{server.secret}"
    creds = AgentCredentials(tmp_path)
    with pytest.raises(errors.PermissionDeniedError, match="fingerprint does not match"):
        await enrol(
            creds, server=server.url, join_token=token, listen_url="https://x:1", hostname="h"
        )
    assert server.enrolments == []
    assert not creds.key_path.exists()


async def test_server_errors_keep_their_kind(server: FakeServer, tmp_path: Path) -> None:
    token = f"{pki.JOIN_TOKEN_PREFIX}{server.ca.fingerprint}-wrong-secret"
    with pytest.raises(errors.UnauthenticatedError, match="invalid join token"):
        await enrol(
            AgentCredentials(tmp_path),
            server=server.url,
            join_token=token,
            listen_url="https://x:1",
            hostname="h",
        )
    assert not AgentCredentials(tmp_path).exist()


async def test_restart_with_credentials_skips_enrolment(server: FakeServer, tmp_path: Path) -> None:
    creds = AgentCredentials(tmp_path)
    await ensure_enrolled(
        creds, server=server.url, join_token=token_for(server), listen_url="u", hostname="h"
    )
    await ensure_enrolled(
        creds, server=server.url, join_token=token_for(server), listen_url="u", hostname="h"
    )
    assert len(server.enrolments) == 1


async def test_no_credentials_and_no_token_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidInputError, match="--join-token"):
        await ensure_enrolled(
            AgentCredentials(tmp_path), server=None, join_token=None, listen_url="u", hostname="h"
        )


async def test_malformed_token_and_unreachable_server(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidInputError):
        await enrol(
            AgentCredentials(tmp_path),
            server="https://127.0.0.1:1",
            join_token="nope",  # noqa: S106
            listen_url="u",
            hostname="h",
        )
    token = f"{pki.JOIN_TOKEN_PREFIX}{'a' * 64}-secret"
    with pytest.raises(errors.NodeUnreachableError):
        await enrol(
            AgentCredentials(tmp_path),
            server="https://127.0.0.1:1",
            join_token=token,
            listen_url="u",
            hostname="h",
        )


def test_server_error_without_json_body() -> None:
    err = server_error(502, b"<html>bad gateway</html>")
    assert type(err) is errors.FleetdeckError
    assert "502" in err.message
