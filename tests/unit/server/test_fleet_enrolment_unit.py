"""Enrolment rules on the real :class:`Fleet` over a real SQLite store (no agents running).

Lab tests prove enrolment end to end; what a lab server cannot be made to do (issue a token
that is already expired) or cannot show deterministically (two enrolments racing) is proven
here. Agent URLs point at closed loopback ports, so the links the fleet starts go nowhere.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from fleetdeck import pki
from fleetdeck.errors import InvalidInputError, PermissionDeniedError
from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.links import ClientTLS
from fleetdeck.server.fleet.repository import SqlFleetRepository
from fleetdeck.server.fleet.service import Fleet

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from fastapi import FastAPI

#: Nothing listens on these loopback ports: links fail at once and send nothing anywhere.
AGENT_URL = "https://127.0.0.1:1"
OTHER_AGENT_URL = "https://127.0.0.1:2"


def _csr(hostname: str = "host-a") -> str:
    return pki.make_csr(pki.new_key(), hostname).decode()


@pytest.fixture
async def make_fleet(app: FastAPI) -> AsyncIterator[Callable[[timedelta], Fleet]]:
    """Build Fleets with a chosen join-token TTL over the app's real store and CA."""
    made: list[Fleet] = []
    tls = context_of(app).tls

    def make(ttl: timedelta) -> Fleet:
        fleet = Fleet(
            SqlFleetRepository(context_of(app).store),
            context_of(app).ca,
            ClientTLS(ca_cert=tls.ca_cert_path, cert=tls.cert_path, key=tls.key_path),
            join_token_ttl=ttl,
        )
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        await fleet.stop()


async def _new_env(fleet: Fleet, name: str) -> str:
    """Create an agent environment; the join token it comes with."""
    _, token = await fleet.create_environment(name, [], [], "admin")
    assert token is not None
    return token


async def _nodes(fleet: Fleet, env: str) -> list[str]:
    """The env's node names as a freshly started fleet loads them from the store."""
    envs = await fleet.repo.list_environments()
    return sorted(n.name for e in envs if e.name == env for n in e.nodes)


@pytest.mark.parametrize("ttl", [timedelta(seconds=-1), timedelta(0)])
async def test_expired_join_token_is_refused(
    make_fleet: Callable[[timedelta], Fleet], ttl: timedelta
) -> None:
    fleet = make_fleet(ttl)
    token = await _new_env(fleet, "exp")
    with pytest.raises(PermissionDeniedError, match="expired") as refused:
        await fleet.enrol(token, _csr(), AGENT_URL, "host-a")
    assert refused.value.hint is not None and "fleetdeck env token" in refused.value.hint
    assert fleet.require_environment("exp").nodes == []
    assert await _nodes(fleet, "exp") == []


async def test_live_join_token_enrols_once(make_fleet: Callable[[timedelta], Fleet]) -> None:
    fleet = make_fleet(timedelta(minutes=5))
    token = await _new_env(fleet, "once")
    answer = await fleet.enrol(token, _csr(), AGENT_URL, "host-a")
    assert (answer["environment"], answer["node"]) == ("once", "host-a")
    cert = pki.load_cert(answer["cert_pem"].encode())
    assert str(cert.serial_number) == fleet.require_environment("once").nodes[0].cert_serial
    with pytest.raises(PermissionDeniedError, match="used already"):
        await fleet.enrol(token, _csr("host-b"), OTHER_AGENT_URL, "host-b")
    assert await _nodes(fleet, "once") == ["host-a"]


async def test_racing_enrolments_with_one_token_admit_one_agent(
    make_fleet: Callable[[timedelta], Fleet],
) -> None:
    fleet = make_fleet(timedelta(minutes=5))
    token = await _new_env(fleet, "race")
    results = await asyncio.gather(
        fleet.enrol(token, _csr("host-a"), AGENT_URL, "host-a"),
        fleet.enrol(token, _csr("host-b"), OTHER_AGENT_URL, "host-b"),
        return_exceptions=True,
    )
    admitted = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, PermissionDeniedError)]
    assert len(admitted) == 1 and len(refused) == 1, results
    assert await _nodes(fleet, "race") == [admitted[0]["node"]]


async def test_token_of_another_ca_is_refused_and_not_consumed(
    make_fleet: Callable[[timedelta], Fleet],
) -> None:
    fleet = make_fleet(timedelta(minutes=5))
    token = await _new_env(fleet, "fp")
    prefix, secret = token[: len(pki.JOIN_TOKEN_PREFIX)], token.rsplit("-", 1)[1]
    other_ca = pki.CertificateAuthority.create().fingerprint
    with pytest.raises(PermissionDeniedError, match="another fleetdeck server"):
        await fleet.enrol(f"{prefix}{other_ca}-{secret}", _csr(), AGENT_URL, "host-a")
    assert (await fleet.enrol(token, _csr(), AGENT_URL, "host-a"))["node"] == "host-a"


async def test_rejected_csr_does_not_burn_the_token(
    make_fleet: Callable[[timedelta], Fleet],
) -> None:
    fleet = make_fleet(timedelta(minutes=5))
    token = await _new_env(fleet, "csr")
    with pytest.raises(InvalidInputError, match="certificate signing request"):
        await fleet.enrol(token, "-----BEGIN CERTIFICATE REQUEST-----\nnope\n", AGENT_URL, "h")
    assert await _nodes(fleet, "csr") == []
    assert (await fleet.enrol(token, _csr(), AGENT_URL, "host-a"))["node"] == "host-a"


async def test_same_hostname_enrolling_concurrently_gets_two_nodes(
    make_fleet: Callable[[timedelta], Fleet],
) -> None:
    """Two cloned hosts (same hostname, different addresses) joining one env at once."""
    fleet = make_fleet(timedelta(minutes=5))
    first = await _new_env(fleet, "clones")
    second = await fleet.new_join_token("clones", "admin")
    answers = await asyncio.gather(
        fleet.enrol(first, _csr(), AGENT_URL, "ubuntu"),
        fleet.enrol(second, _csr(), OTHER_AGENT_URL, "ubuntu"),
    )
    assert sorted(a["node"] for a in answers) == ["ubuntu", "ubuntu-2"]
    assert await _nodes(fleet, "clones") == ["ubuntu", "ubuntu-2"]
    urls = {n.name: n.agent_url for n in fleet.require_environment("clones").nodes}
    assert sorted(urls.values()) == [AGENT_URL, OTHER_AGENT_URL]
    for name, url in urls.items():
        assert fleet.links.get("clones", name).url == url
