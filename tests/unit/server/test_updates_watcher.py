"""The image-update watcher's rounds against a real registry API on loopback.

The stacks boundary is a stand-in (the watched services and the deploy it would start);
the registry checker and its HTTP are real. One HEAD per image reference however many
services use it; ``notify`` alerts once per digest; ``auto`` deploys, and a failed digest is
not tried again; a registry that is down backs off and nothing is deployed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from fleetdeck.clock import FrozenClock
from fleetdeck.errors import NotFoundError
from fleetdeck.server.updates.policy import check_policy, compose_policies, effective
from fleetdeck.server.updates.references import parse_reference
from fleetdeck.server.updates.registry import RegistryChecker
from fleetdeck.server.updates.watcher import UpdateWatcher, Watched
from tests.unit.server.updates_registry import FakeRegistry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fleetdeck.server.store.models_updates import UpdateStateRow

D1, D2, D3 = ("sha256:" + c * 64 for c in "123")
START = datetime(2030, 1, 1, tzinfo=UTC)


class MemoryRepo:
    """The image-update tables in memory."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], UpdateStateRow] = {}
        self.api: dict[str, str] = {}

    async def policies(self) -> dict[str, str]:
        """The API's policies."""
        return dict(self.api)

    async def states(self) -> list[UpdateStateRow]:
        """Every state."""
        return list(self.rows.values())

    async def save(self, row: UpdateStateRow) -> None:
        """Keep one state."""
        self.rows[(row.stack, row.service)] = row

    async def forget(self, keep: set[tuple[str, str]]) -> None:
        """Drop the states not kept."""
        self.rows = {k: v for k, v in self.rows.items() if k in keep}

    async def delete_policy(self, target: str) -> None:
        """Remove a policy."""
        if self.api.pop(target, None) is None:
            raise NotFoundError(target)


class Watcher(UpdateWatcher):
    """The watcher over fixed services; deploys are recorded and answer ``deploy_ok``."""

    services: list[Watched]
    deploys: list[dict[str, str]]
    deploy_ok = True

    async def watched(self) -> tuple[list[Watched], dict[str, Any]]:
        """The fixed services and their stacks."""
        running = {
            s.stack: SimpleNamespace(stored=SimpleNamespace(name=s.stack),
                                     row=SimpleNamespace(image_digests={}))
            for s in self.services
        }  # fmt: skip
        return list(self.services), running

    async def _deploy(self, name: str, stack: Any, pins: dict[str, str]) -> tuple[bool | None, str]:
        self.deploys.append(pins)
        for s in self.services:  # what a successful deploy leaves running
            if self.deploy_ok and s.stack == name and s.service in pins:
                s.running = pins[s.service].partition("@")[2]
        return self.deploy_ok, "ok" if self.deploy_ok else "health check failed; rolled back"


@pytest.fixture
async def registry() -> AsyncIterator[FakeRegistry]:
    async with FakeRegistry() as fake:
        yield fake


def _watcher(
    registry: FakeRegistry, http: httpx.AsyncClient, clock: FrozenClock, services: list[Watched]
) -> tuple[Watcher, list[tuple[str, dict[str, str], str, bool]]]:
    alerts: list[tuple[str, dict[str, str], str, bool]] = []

    async def report(kind: str, labels: dict[str, str], message: str, severity: str | None = None,
                     *, resolved: bool = False) -> None:  # fmt: skip
        alerts.append((kind, labels, message, resolved))

    async def none(host: str) -> None:
        return None

    async def insecure(host: str) -> bool:
        return True

    checker = RegistryChecker(http, none, insecure, clock, backoff_s=30, rng=random.Random(2))
    watcher = Watcher(None, MemoryRepo(), checker, None, report, clock, rng=random.Random(3))  # type: ignore[arg-type]
    watcher.services, watcher.deploys = services, []
    return watcher, alerts


def _svc(registry: FakeRegistry, stack: str, service: str, tag: str, policy: str) -> Watched:
    ref, _ = parse_reference(f"{registry.host}/app/{tag}")
    return Watched(stack, service, "lab", ref.name, ref, D1, policy, "api")


def _status(watcher: Watcher) -> dict[str, str]:
    rows = watcher.repo.rows  # type: ignore[attr-defined]
    return {f"{s}/{v}": r.status for (s, v), r in sorted(rows.items())}


async def test_one_head_per_reference_for_the_whole_fleet(registry: FakeRegistry) -> None:
    services = [_svc(registry, f"s{n}", "web", f"img{n % 4}:1", "notify") for n in range(12)]
    registry.tags = {f"app/img{n}:1": D1 for n in range(4)}
    async with httpx.AsyncClient() as http:
        watcher, alerts = _watcher(registry, http, FrozenClock(START), services)
        result = await watcher.round(fresh=True)
    assert (result.references, result.services, result.head_requests) == (4, 12, 4)
    assert registry.heads == 4 and not alerts
    assert set(_status(watcher).values()) == {"current"}


async def test_notify_alerts_once_per_new_digest_and_auto_deploys(registry: FakeRegistry) -> None:
    registry.tags = {"app/web:1": D1}
    notify = _svc(registry, "blog", "web", "web:1", "notify")
    auto = _svc(registry, "shop", "web", "web:1", "auto")
    async with httpx.AsyncClient() as http:
        watcher, alerts = _watcher(registry, http, FrozenClock(START), [notify, auto])
        await watcher.round(fresh=True)
        assert not watcher.deploys and not alerts
        registry.tags["app/web:1"] = D2  # re-pushed under the same tag
        result = await watcher.round(fresh=True)
        assert result.updated == ["shop/web"] and result.head_requests == 1
        assert watcher.deploys == [{"web": f"{registry.host}/app/web@{D2}"}]
        assert _status(watcher) == {"blog/web": "available", "shop/web": "current"}
        raised = [a for a in alerts if not a[3]]
        assert {a[1]["stack"] for a in raised} == {"blog", "shop"}  # shop's before its deploy
        await watcher.round(fresh=True)  # nothing new: no second alert, no second deploy
        assert len([a for a in alerts if not a[3]]) == 2 and len(watcher.deploys) == 1


async def test_a_failed_update_is_not_retried_for_that_digest(registry: FakeRegistry) -> None:
    registry.tags = {"app/web:1": D2}
    auto = _svc(registry, "shop", "web", "web:1", "auto")
    async with httpx.AsyncClient() as http:
        watcher, alerts = _watcher(registry, http, FrozenClock(START), [auto])
        watcher.deploy_ok = False
        result = await watcher.round(fresh=True)
        assert result.failed == ["shop/web"] and len(watcher.deploys) == 1
        assert any(a[0] == "image_update_failed" for a in alerts)
        await watcher.round(fresh=True)
        assert len(watcher.deploys) == 1 and _status(watcher) == {"shop/web": "failed"}
        watcher.deploy_ok = True
        registry.tags["app/web:1"] = D3  # a newer digest is tried
        await watcher.round(fresh=True)
        assert len(watcher.deploys) == 2 and _status(watcher) == {"shop/web": "current"}


async def test_a_registry_that_is_down_backs_off_and_nothing_is_deployed(
    registry: FakeRegistry,
) -> None:
    registry.tags, registry.mode = {"app/web:1": D2}, "down"
    clock = FrozenClock(START)
    auto = _svc(registry, "shop", "web", "web:1", "auto")
    async with httpx.AsyncClient() as http:
        watcher, alerts = _watcher(registry, http, clock, [auto])
        await watcher.round(fresh=True)
        await watcher.round(fresh=True)  # in backoff: not even asked
        assert registry.heads == 1 and not watcher.deploys and not alerts
        row = watcher.repo.rows[("shop", "web")]  # type: ignore[attr-defined]
        assert row.status == "unknown" and "backs off" in row.message
        clock.advance(60)
        registry.mode = "ok"
        await watcher.round(fresh=True)
        assert registry.heads == 2 and len(watcher.deploys) == 1


def test_policies_come_from_the_api_then_compose_then_the_default() -> None:
    text = (
        "x-fleetdeck: {updates: auto}\n"
        "services:\n  db:\n    image: x\n    x-fleetdeck: {updates: notify}\n  web: {image: y}\n"
    )
    compose = compose_policies("shop", [("compose.yaml", text)])
    assert compose == {"shop": "auto", "shop/db": "notify"}
    assert effective("shop", "web", {}, compose) == ("auto", "compose:shop")
    assert effective("shop", "db", {"shop": "off"}, compose) == ("notify", "compose:shop/db")
    assert effective("shop", "db", {"shop/db": "off"}, compose) == ("off", "api:shop/db")
    assert effective("blog", "web", {"default": "off"}, compose) == ("off", "default:default")
    assert effective("blog", "web", {}, {}) == ("notify", "built-in")
    assert check_policy(False) == "off"
    with pytest.raises(Exception, match="compose.yaml: services.db.x-fleetdeck.updates"):
        compose_policies("shop", [("compose.yaml", text.replace("notify", "sometimes"))])
