"""The image-update registry checker against a real registry API on loopback.

HEAD requests with the manifest Accept headers, a same-tag re-push seen, answers cached,
the Bearer token flow with the registries part's credentials, backoff after 503/429 and
the per-registry rate budget.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
import pytest

from fleetdeck.clock import FrozenClock
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.updates.references import parse_reference
from fleetdeck.server.updates.registry import Outcome, RegistryChecker
from tests.unit.server.updates_registry import FakeRegistry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
START = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
async def registry() -> AsyncIterator[FakeRegistry]:
    async with FakeRegistry(tags={"app/web:1": D1}) as fake:
        yield fake


def _checker(
    registry: FakeRegistry, clock: FrozenClock, http: httpx.AsyncClient, **kw: object
) -> RegistryChecker:
    async def creds(host: str) -> dict[str, str] | None:
        if registry.credentials is None or host != registry.host:
            return None
        user, password = registry.credentials
        return {"username": user, "password": password}

    async def insecure(host: str) -> bool:
        return host == registry.host

    return RegistryChecker(http, creds, insecure, clock, rng=random.Random(1), **kw)  # type: ignore[arg-type]


def test_references_follow_dockers_rules() -> None:
    ref, digest = parse_reference("10.0.0.1:5000/app/web:1")
    assert (ref.registry, ref.repository, ref.tag, digest) == (
        "10.0.0.1:5000",
        "app/web",
        "1",
        None,
    )
    ref, _ = parse_reference("nginx")
    assert (ref.registry, ref.repository, ref.tag) == ("docker.io", "library/nginx", "latest")
    assert ref.api_host == "registry-1.docker.io" and ref.pinned(D1) == f"nginx@{D1}"
    ref, digest = parse_reference(f"localhost:5000/x:2@{D2}")
    assert ref.name == "localhost:5000/x:2" and digest == D2
    for bad in (f"reg.example/x@{D1}", "UPPER/Case:1", "x:bad tag", ""):
        with pytest.raises(InvalidInputError):
            parse_reference(bad)


async def test_a_same_tag_re_push_is_seen_and_answers_are_cached(registry: FakeRegistry) -> None:
    clock = FrozenClock(START)
    async with httpx.AsyncClient() as http:
        checker = _checker(registry, clock, http, cache_s=300)
        ref, _ = parse_reference(f"{registry.host}/app/web:1")
        first = await checker.digest(ref)
        assert (first.outcome, first.digest) == (Outcome.ok, D1)
        assert "application/vnd.oci.image.index.v1+json" in registry.accepts[0]
        assert "application/vnd.docker.distribution.manifest.list.v2+json" in registry.accepts[0]
        registry.tags["app/web:1"] = D2  # re-pushed under the same tag
        assert (await checker.digest(ref)).digest == D1  # cached: no request
        assert registry.heads == 1
        clock.advance(301)
        assert (await checker.digest(ref)).digest == D2
        assert registry.heads == 2 and checker.sent(registry.host) == {"head": 2, "token": 0}
        missing, _ = parse_reference(f"{registry.host}/app/none:1")
        answer = await checker.digest(missing)
        assert answer.outcome == Outcome.error and "no such tag" in answer.message


async def test_the_bearer_flow_uses_the_registrys_credentials_and_keeps_the_token(
    registry: FakeRegistry,
) -> None:
    registry.credentials = ("robot", "s3cret")
    async with httpx.AsyncClient() as http:
        checker = _checker(registry, FrozenClock(START), http)
        ref, _ = parse_reference(f"{registry.host}/app/web:1")
        answer = await checker.digest(ref)
        assert (answer.outcome, answer.digest) == (Outcome.ok, D1)
        assert (registry.heads, registry.token_requests) == (2, 1)  # 401, token, HEAD
        again = await checker.digest(ref, fresh=True)
        assert again.digest == D1 and (registry.heads, registry.token_requests) == (3, 1)

        async def wrong(host: str) -> dict[str, str] | None:
            return {"username": "robot", "password": "wrong"}

        async def insecure(host: str) -> bool:
            return True

        other = RegistryChecker(http, wrong, insecure, FrozenClock(START))
        refused = await other.digest(ref)
        assert refused.outcome == Outcome.error and "refused access" in refused.message


async def test_a_registry_that_is_down_or_limits_backs_off(registry: FakeRegistry) -> None:
    clock = FrozenClock(START)
    async with httpx.AsyncClient() as http:
        checker = _checker(registry, clock, http, backoff_s=30, backoff_max_s=600)
        ref, _ = parse_reference(f"{registry.host}/app/web:1")
        registry.mode = "down"
        down = await checker.digest(ref, fresh=True)
        assert down.outcome == Outcome.unavailable and "503" in down.message
        until = checker.backoff(registry.host)
        assert until is not None and 27 <= until - clock.time() <= 33
        deferred = await checker.digest(ref, fresh=True)
        assert deferred.outcome == Outcome.deferred and registry.heads == 1  # nothing sent
        clock.advance(40)
        again = await checker.digest(ref, fresh=True)  # asked again, still down: doubled
        assert again.outcome == Outcome.unavailable and registry.heads == 2
        assert 54 <= (checker.backoff(registry.host) or 0) - clock.time() <= 66
        clock.advance(70)
        registry.mode = "limited"
        limited = await checker.digest(ref, fresh=True)
        assert limited.outcome == Outcome.unavailable
        assert (checker.backoff(registry.host) or 0) - clock.time() >= 120  # its Retry-After
        clock.advance(200)
        registry.mode = "ok"
        back = await checker.digest(ref, fresh=True)
        assert back.digest == D1 and checker.backoff(registry.host) is None
        unreachable, _ = parse_reference("127.0.0.1:9/app/web:1")  # nothing listens on 9
        gone = await checker.digest(unreachable)
        assert gone.outcome == Outcome.unavailable


async def test_the_rate_budget_defers_what_is_over_it(registry: FakeRegistry) -> None:
    clock = FrozenClock(START)
    for n in range(3):
        registry.tags[f"app/r{n}:1"] = D1
    async with httpx.AsyncClient() as http:
        checker = _checker(registry, clock, http, budget=2)
        answers = [
            await checker.digest(parse_reference(f"{registry.host}/app/r{n}:1")[0])
            for n in range(3)
        ]
        assert [a.outcome for a in answers] == [Outcome.ok, Outcome.ok, Outcome.deferred]
        assert registry.heads == 2
        clock.advance(30)  # one request's worth refilled (2 a minute)
        third = await checker.digest(parse_reference(f"{registry.host}/app/r2:1")[0])
        assert third.outcome == Outcome.ok and registry.heads == 3
