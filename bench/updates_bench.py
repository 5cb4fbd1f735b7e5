"""Image-update rounds: registry requests and CPU time for 100 containers sharing 20 images.

A registry API on 127.0.0.1 (aiohttp, the unit tests' ``FakeRegistry``) holds 20 tags; 100
stack services (5 per image) are watched. Figures, each next to its anchor from the same run:

1. registry requests in one fresh round (``updates check``) — goal one HEAD per image
   reference: 20 — anchor: the naive watcher, one HEAD per container (100);
2. the same with a registry that wants Bearer tokens: first round (401, token, HEAD per
   reference) and the next one (the token kept: one HEAD per reference);
3. a periodic round within the cache's lifetime (no request at all);
4. CPU time of one round (the watcher's own work, the HTTP client and the local registry
   in the same process) — anchor: the naive loop's 100 HEADs in the same process.

Run: ``.venv/bin/python bench/updates_bench.py [--rounds 15]`` (no lab needed).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, summary  # noqa: E402
from tests.unit.server.test_updates_watcher import MemoryRepo  # noqa: E402
from tests.unit.server.updates_registry import FakeRegistry  # noqa: E402

from fleetdeck.clock import FrozenClock  # noqa: E402
from fleetdeck.server.updates.references import parse_reference  # noqa: E402
from fleetdeck.server.updates.registry import ACCEPT, RegistryChecker  # noqa: E402
from fleetdeck.server.updates.watcher import UpdateWatcher, Watched  # noqa: E402

IMAGES, CONTAINERS = 20, 100
DIGEST = "sha256:" + "a" * 64


class BenchWatcher(UpdateWatcher):
    """The watcher over a fixed fleet (the stacks boundary stands in; nothing is deployed)."""

    services: list[Watched]

    async def watched(self) -> tuple[list[Watched], dict[str, Any]]:
        """The 100 services."""
        running = {s.stack: SimpleNamespace() for s in self.services}
        return list(self.services), running


def _fleet(registry: FakeRegistry) -> list[Watched]:
    services = []
    for n in range(CONTAINERS):
        ref, _ = parse_reference(f"{registry.host}/bench/img{n % IMAGES}:1")
        services.append(Watched(f"s{n}", "web", "lab", ref.name, ref, DIGEST, "notify", "api"))
    return services


def _watcher(registry: FakeRegistry, http: httpx.AsyncClient, clock: FrozenClock) -> BenchWatcher:
    async def creds(host: str) -> dict[str, str] | None:
        if registry.credentials is None:
            return None
        return {"username": registry.credentials[0], "password": registry.credentials[1]}

    async def insecure(host: str) -> bool:
        return True

    async def report(*args: Any, **kw: Any) -> None:
        return None

    checker = RegistryChecker(http, creds, insecure, clock, budget=1000, cache_s=1800)
    watcher = BenchWatcher(None, MemoryRepo(), checker, None, report, clock,  # type: ignore[arg-type]
                           rng=random.Random(1))  # noqa: S311  # fmt: skip
    watcher.services = _fleet(registry)
    return watcher


async def _naive(registry: FakeRegistry, http: httpx.AsyncClient) -> None:
    for s in _fleet(registry):
        url = f"http://{s.ref.api_host}/v2/{s.ref.repository}/manifests/{s.ref.tag}"
        await http.head(url, headers={"Accept": ACCEPT})


async def main(rounds: int) -> None:
    print(machine())
    async with FakeRegistry() as registry, httpx.AsyncClient() as http:
        registry.tags = {f"bench/img{n}:1": DIGEST for n in range(IMAGES)}
        clock = FrozenClock(datetime(2030, 1, 1, tzinfo=UTC))

        watcher = _watcher(registry, http, clock)
        before = registry.heads
        result = await watcher.round(fresh=True)
        fresh_heads = registry.heads - before
        before = registry.heads
        await _naive(registry, http)
        naive_heads = registry.heads - before
        before = registry.heads
        await watcher.round(fresh=False)
        cached_heads = registry.heads - before

        registry.credentials = ("robot", "s3cret")
        authed = _watcher(registry, http, clock)
        h0, t0 = registry.heads, registry.token_requests
        await authed.round(fresh=True)
        first = (registry.heads - h0, registry.token_requests - t0)
        h0, t0 = registry.heads, registry.token_requests
        await authed.round(fresh=True)
        second = (registry.heads - h0, registry.token_requests - t0)
        registry.credentials = None

        cpu_round, cpu_naive = [], []
        for _ in range(rounds):
            c0 = time.process_time()
            await watcher.round(fresh=True)
            cpu_round.append(time.process_time() - c0)
            c0 = time.process_time()
            await _naive(registry, http)
            cpu_naive.append(time.process_time() - c0)

    print(f"{CONTAINERS} containers sharing {IMAGES} images "
          f"({result.references} references, {result.services} services watched)")  # fmt: skip
    print(f"registry requests per fresh round: {fresh_heads} HEAD "
          f"(goal {IMAGES}: one per image reference) | anchor, one per container: "
          f"{naive_heads} HEAD")  # fmt: skip
    print(f"with Bearer tokens: first round {first[0]} HEAD + {first[1]} token, "
          f"next round {second[0]} HEAD + {second[1]} token")  # fmt: skip
    print(f"periodic round inside the cache lifetime: {cached_heads} requests")
    print(f"round CPU time (watcher + client + local registry, one process): "
          f"{summary(cpu_round)} | anchor, naive 100 HEADs: {summary(cpu_naive)}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    asyncio.run(main(parser.parse_args().rounds))
