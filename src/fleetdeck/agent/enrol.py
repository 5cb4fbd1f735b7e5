"""Enrolment: turn a single-use join token into the agent's certificate.

The join token carries the SHA-256 fingerprint of the server's CA. The agent first fetches
the CA from ``GET {server}/api/v1/ca`` *without* verifying TLS (it cannot yet: it does not
know the CA), and checks the fingerprint; only then does it send the token's secret and its
CSR to ``POST {server}/api/v1/agents/enrol``, over TLS verified against that CA. A man in the
middle therefore never sees the secret. The key never leaves the host; it is written 0600 in
the agent's state dir next to the certificate and CA. An agent with credentials skips
enrolment on restart (the token is single use).

:mod:`fleetdeck.pki` (and with it ``cryptography``, about 8 MB resident) is imported only when
the agent actually enrols, so an enrolled agent does not carry it.
"""

from __future__ import annotations

import json
import logging
import ssl
from typing import TYPE_CHECKING, Any

import aiohttp

from fleetdeck import errors

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from fleetdeck.agent.tls import AgentCredentials

log = logging.getLogger(__name__)
ENROL_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)


def _error_kinds() -> dict[str, type[errors.FleetdeckError]]:
    kinds: dict[str, type[errors.FleetdeckError]] = {}
    pending: list[type[errors.FleetdeckError]] = [errors.FleetdeckError]
    while pending:
        cls = pending.pop()
        kinds[cls.kind] = cls
        pending.extend(cls.__subclasses__())
    return kinds


def server_error(status: int, body: bytes) -> errors.FleetdeckError:
    """The fleetdeck error a server's error answer stands for (by its ``error`` kind)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        cls = _error_kinds().get(data["error"], errors.FleetdeckError)
        return cls(str(data.get("message") or data["error"]), hint=data.get("hint"))
    text = body.decode("utf-8", "replace").strip()[:200]
    return errors.FleetdeckError(f"the server answered {status}: {text}")


def _unreachable(server: str, exc: BaseException) -> errors.NodeUnreachableError:
    return errors.NodeUnreachableError(f"cannot reach the fleetdeck server at {server}: {exc}")


def _extract_pem(body: bytes) -> bytes:
    if body.lstrip().startswith(b"{"):
        data = json.loads(body)
        for key in ("ca_pem", "pem", "certificate"):
            if isinstance(data.get(key), str):
                return str(data[key]).encode()
    return body


async def fetch_ca(session: aiohttp.ClientSession, server: str) -> bytes:
    """The server's CA certificate (PEM), fetched without TLS verification."""
    url = f"{server}/api/v1/ca"
    try:
        async with session.get(url, ssl=False) as response:
            body = await response.read()
            if response.status != 200:
                raise server_error(response.status, body)
    except aiohttp.ClientError as exc:
        raise _unreachable(server, exc) from exc
    return _extract_pem(body)


def check_ca(ca_pem: bytes, expected_fingerprint: str) -> None:
    """Refuse a CA whose fingerprint is not the one the join token carries."""
    from fleetdeck import pki

    if pki.fingerprint(pki.load_cert(ca_pem)) != expected_fingerprint:
        raise errors.PermissionDeniedError(
            "server CA fingerprint does not match the join token",
            hint="check the server URL, or ask for a new token: someone may be in the middle",
        )


async def _post_enrol(
    session: aiohttp.ClientSession, server: str, ca_pem: bytes, payload: dict[str, str]
) -> dict[str, Any]:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    try:
        async with session.post(
            f"{server}/api/v1/agents/enrol", json=payload, ssl=context
        ) as response:
            body = await response.read()
            if response.status != 200:
                raise server_error(response.status, body)
    except aiohttp.ClientError as exc:
        raise _unreachable(server, exc) from exc
    answer = json.loads(body)
    if not isinstance(answer, dict) or not isinstance(answer.get("cert_pem"), str):
        raise errors.FleetdeckError("the server's enrolment answer has no certificate")
    return answer


def _same_public_key(cert_pem: bytes, key: ec.EllipticCurvePrivateKey) -> bool:
    from cryptography.hazmat.primitives import serialization

    from fleetdeck import pki

    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    ours = key.public_key().public_bytes(serialization.Encoding.DER, fmt)
    theirs = pki.load_cert(cert_pem).public_key().public_bytes(serialization.Encoding.DER, fmt)
    return ours == theirs


async def enrol(
    creds: AgentCredentials, *, server: str, join_token: str, listen_url: str, hostname: str
) -> dict[str, Any]:
    """Enrol with the server and store key, certificate and CA in the state dir.

    Returns:
        The server's answer without the PEMs: ``environment`` and ``node``.
    """
    from fleetdeck import pki

    server = server.rstrip("/")
    expected, _ = pki.parse_join_token(join_token)
    key = pki.new_key()
    payload = {
        "join_token": join_token,
        "csr_pem": pki.make_csr(key, hostname).decode(),
        "listen_url": listen_url,
        "hostname": hostname,
    }
    async with aiohttp.ClientSession(timeout=ENROL_TIMEOUT) as session:
        ca_pem = await fetch_ca(session, server)
        check_ca(ca_pem, expected)
        answer = await _post_enrol(session, server, ca_pem, payload)
    cert = str(answer["cert_pem"]).encode()
    check_ca(str(answer.get("ca_pem") or ca_pem.decode()).encode(), expected)
    if not _same_public_key(cert, key):
        raise errors.FleetdeckError("the server's certificate is not for this agent's key")
    pki.write_private(creds.key_path, pki.key_pem(key))
    creds.cert_path.write_bytes(cert)
    creds.ca_path.write_bytes(ca_pem)
    record = {
        "server": server,
        "environment": answer.get("environment"),
        "node": answer.get("node"),
        "listen_url": listen_url,
    }
    creds.record_path.write_text(json.dumps(record, indent=2) + "\n")
    log.info("enrolled with %s as %s/%s", server, record["environment"], record["node"])
    return record


async def ensure_enrolled(
    creds: AgentCredentials,
    *,
    server: str | None,
    join_token: str | None,
    listen_url: str,
    hostname: str,
) -> None:
    """Enrol unless the state dir already holds credentials."""
    if creds.exist():
        return
    if not server or not join_token:
        raise errors.InvalidInputError(
            f"no credentials in {creds.state_dir} and no --server/--join-token to enrol with"
        )
    await enrol(
        creds, server=server, join_token=join_token, listen_url=listen_url, hostname=hostname
    )
