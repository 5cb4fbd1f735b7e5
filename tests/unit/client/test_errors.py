from __future__ import annotations

import socket
import ssl

import httpx
import pytest

from fleetdeck.client import ClientConfig, FleetdeckClient
from fleetdeck.client import base as client_base
from fleetdeck.errors import (
    ConflictError,
    FleetdeckError,
    InvalidInputError,
    NodeUnreachableError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from tests.unit.client.fake_server import FakeServer, error_body

URL = "https://fleet.test:8443"


def client(token: str | None = "tok") -> FleetdeckClient:  # noqa: S107
    return FleetdeckClient(ClientConfig(URL, token=token))


@pytest.mark.parametrize(
    ("status", "kind", "cls"),
    [
        (404, "not_found", NotFoundError),
        (403, "permission_denied", PermissionDeniedError),
        (401, "unauthenticated", UnauthenticatedError),
        (409, "conflict", ConflictError),
        (422, "invalid_input", InvalidInputError),
        (503, "node_unreachable", NodeUnreachableError),
    ],
)
def test_error_body_becomes_the_error_of_its_kind(
    fake_server: FakeServer, status: int, kind: str, cls: type[FleetdeckError]
) -> None:
    fake_server.on("GET", "/environments", lambda _r: error_body(status, kind, "boom", "do x"))
    with client() as c, pytest.raises(cls) as info:
        c.list_environments()
    assert type(info.value) is cls
    assert info.value.message == "boom" and info.value.hint == "do x"


def test_unknown_kind_falls_back_to_the_root(fake_server: FakeServer) -> None:
    fake_server.on("GET", "/environments", lambda _r: error_body(418, "teapot", "short and stout"))
    with client() as c, pytest.raises(FleetdeckError) as info:
        c.list_environments()
    assert type(info.value) is FleetdeckError and info.value.message == "short and stout"


def test_a_non_fleetdeck_reply_is_mapped_by_its_status(fake_server: FakeServer) -> None:
    fake_server.on("GET", "/health", lambda _r: httpx.Response(502, text="Bad Gateway"))
    with client() as c, pytest.raises(NodeUnreachableError, match="HTTP 502: Bad Gateway"):
        c.health()


def test_refused_token_hints_at_login(fake_server: FakeServer) -> None:
    fake_server.on("GET", "/users", lambda _r: httpx.Response(401))
    with client(token=None) as c, pytest.raises(UnauthenticatedError) as info:
        c.list_users()
    assert "fleetdeck login" in (info.value.hint or "")


def test_connection_refused_names_the_server() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with (
        FleetdeckClient(ClientConfig(url, timeout=5)) as c,
        pytest.raises(NodeUnreachableError) as info,
    ):
        c.health()
    assert f"cannot reach fleetdeck server at {url}" in info.value.message


def _raising(exc: Exception) -> httpx.MockTransport:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


def test_timeout_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = _raising(httpx.ReadTimeout("slow"))
    monkeypatch.setattr(client_base, "transport_factory", lambda _cfg: transport)
    with client() as c, pytest.raises(NodeUnreachableError, match="timed out"):
        c.health()


def test_tls_verification_failure_suggests_ca_cert(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        raise ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed")
    except ssl.SSLCertVerificationError as cause:
        error = httpx.ConnectError("handshake failed")
        error.__cause__ = cause
    monkeypatch.setattr(client_base, "transport_factory", lambda _cfg: _raising(error))
    with client() as c, pytest.raises(NodeUnreachableError) as info:
        c.health()
    assert "TLS certificate" in info.value.message
    assert "--ca-cert" in (info.value.hint or "")


def test_missing_ca_file_is_invalid_input(tmp_path: object) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        FleetdeckClient(ClientConfig(URL, ca_cert="/nonexistent/ca.pem"))


def test_unexpected_reply_shape_is_an_error_not_a_traceback(fake_server: FakeServer) -> None:
    fake_server.on("GET", "/containers", {"nothing": "like it"})
    with client() as c, pytest.raises(FleetdeckError, match="unexpected reply"):
        c.list_containers()
