"""Alerting costs: one evaluator pass over a 1,000-container fleet, and one notification.

1. An evaluator pass (every built-in rule plus a container CPU rule, 20 nodes × 50
   containers with fresh metrics, a real SQLite store) — anchor: serving the same 1,000
   containers as ``fleetdeck ps`` does (the in-memory inventory listing).
2. One notification through Apprise ``json://`` to a webhook on 127.0.0.1 — anchor: the same
   JSON POSTed to the same receiver with httpx.

Run: ``.venv/bin/python bench/alerts_bench.py`` (no lab needed).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, summary  # noqa: E402
from tests.integration.alert_receivers import WebhookReceiver  # noqa: E402
from tests.unit.server.alerts_helpers import add_rule, container, engine, snapshot  # noqa: E402

from fleetdeck.server.alerts.channels import AppriseNotifier  # noqa: E402
from fleetdeck.server.alerts.state import Event  # noqa: E402
from fleetdeck.server.fleet.inventory import ContainerQuery  # noqa: E402
from fleetdeck.server.store import Store  # noqa: E402
from fleetdeck.server.store.migrate import migrate  # noqa: E402

NODES, PER_NODE, RUNS = 20, 50, 15


async def evaluator_figures(tmp: Path) -> tuple[list[float], list[float]]:
    store = Store(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
    await migrate(store)
    e = await engine(store, tmp, builtin=True)
    await add_rule(store, name="busy", metric="cpu_cores", target="container", operator=">",
                   threshold=0.9)  # fmt: skip
    now = datetime.now(UTC)
    for n in range(NODES):
        ids = [f"n{n}c{i:03d}" for i in range(PER_NODE)]
        snapshot(e.inventory, "prod", f"n{n}", [container(cid, cid) for cid in ids])
        e.evaluator.figures.offer("prod", f"n{n}", {
            "time": now.isoformat(), "host": {"cpu_percent": 50.0, "memory_percent": 40.0},
            "containers": {cid: {"name": cid, "cpu_cores": 0.95 if i % 10 == 0 else 0.1}
                           for i, cid in enumerate(ids)},
        })  # fmt: skip
    passes, listings = [], []
    for i in range(RUNS):
        t0 = time.perf_counter()
        await e.evaluator.evaluate(now + timedelta(seconds=i))
        passes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        e.inventory.containers(ContainerQuery(limit=5000))
        listings.append(time.perf_counter() - t0)
    await store.close()
    return passes, listings


async def notification_figures() -> tuple[list[float], list[float]]:
    notifier = AppriseNotifier()
    sends, posts = [], []
    with WebhookReceiver() as hook, httpx.Client() as client:
        for _ in range(RUNS):
            t0 = time.perf_counter()
            await notifier.send(hook.url, "title", "body", Event.firing, "warning", 10)
            sends.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            client.post(f"http://127.0.0.1:{hook.port}/alerts",
                        json={"title": "title", "message": "body", "type": "warning"})  # fmt: skip
            posts.append(time.perf_counter() - t0)
    notifier.close()
    return sends, posts


def main() -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        passes, listings = asyncio.run(evaluator_figures(Path(tmp)))
    print(f"evaluator pass, {NODES * PER_NODE} containers, 10 rules: {summary(passes)}")
    print(f"  anchor: listing the same containers from memory: {summary(listings)}")
    sends, posts = asyncio.run(notification_figures())
    print(f"notification through Apprise json:// to 127.0.0.1: {summary(sends)}")
    print(f"  anchor: the same JSON POSTed with httpx: {summary(posts)}")


if __name__ == "__main__":
    main()
