"""A real store and inventory for the alerting engine's unit tests; a fake notifier.

The evaluator runs against a migrated SQLite store and a real :class:`FleetInventory` fed
with agent-stream messages; only the notification boundary (Apprise) is faked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.clock import SYSTEM
from fleetdeck.server.alerts import seed_builtin_rules
from fleetdeck.server.alerts.channels import DeliveryError
from fleetdeck.server.alerts.delivery import DeliveryPolicy, DeliveryWorker
from fleetdeck.server.alerts.evaluator import AlertEvaluator, EvaluatorConfig
from fleetdeck.server.alerts.figures import LatestFigures, RestartHistory
from fleetdeck.server.alerts.rules import RuleSpec, validate_rule
from fleetdeck.server.config import ServerSettings
from fleetdeck.server.fleet.inventory import FleetInventory
from fleetdeck.server.secrets import SecretBox
from fleetdeck.server.store.models_alerts import AlertRule, NotificationChannel

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.state import Event
    from fleetdeck.server.store import Store

BOX = SecretBox(b"k" * 32)
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass
class FakeNotifier:
    """Records sends; URLs containing ``fail`` fail, ``hang`` never answer."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)

    async def send(
        self, url: str, title: str, body: str, event: Event, severity: str, timeout: float
    ) -> None:
        """Record, fail or hang as the URL says."""
        self.attempts.append(url)
        if "hang" in url:
            try:
                await asyncio.wait_for(asyncio.Event().wait(), timeout)
            except TimeoutError:
                raise DeliveryError(f"no answer within {timeout:g}s") from None
        if "fail" in url:
            raise DeliveryError("connection refused")
        self.sent.append((url, title))


def container(cid: str, name: str, **extra: Any) -> dict[str, Any]:
    """An EngineContainer as an agent sends it."""
    return {"id": cid, "name": name, "image": "img", "state": "running",
            "created": T0.isoformat(), **extra}  # fmt: skip


def snapshot(inv: FleetInventory, env: str, node: str, containers: list[dict[str, Any]]) -> None:
    """Feed a node's snapshot (the node is up)."""
    message = {"type": "snapshot", "rev": 1, "info": {"hostname": node}, "containers": containers}
    inv.apply(env, node, message)


def settings(tmp_path: Path) -> ServerSettings:
    """Default settings (for the built-in rules)."""
    return ServerSettings.load(data_dir=tmp_path / "data", listen="127.0.0.1:18443")


async def add_rule(store: Store, **spec: Any) -> None:
    """Store a user rule (validated as the API does)."""
    values = validate_rule(RuleSpec.model_validate(spec), set(), {"good", "bad", "slow"})
    async with store.transaction() as session:
        session.add(AlertRule(**values, builtin=False))


async def add_channel(store: Store, name: str, url: str, min_severity: str = "info") -> None:
    """Store a channel with its URL sealed."""
    async with store.transaction() as session:
        session.add(
            NotificationChannel(
                name=name, kind=url.split("://")[0], url_encrypted=BOX.seal(url, f"channel:{name}"),
                url_masked=url, min_severity=min_severity,
            )
        )  # fmt: skip


@dataclass
class Engine:
    """An evaluator and worker over a real store and inventory."""

    store: Store
    inventory: FleetInventory
    notifier: FakeNotifier
    evaluator: AlertEvaluator
    worker: DeliveryWorker


async def engine(store: Store, tmp_path: Path, *, builtin: bool = False,
                 policy: DeliveryPolicy | None = None,
                 clock: Clock = SYSTEM) -> Engine:  # fmt: skip
    """Build the engine (built-in rules seeded only when asked) on ``clock``."""
    if builtin:
        await seed_builtin_rules(store, settings(tmp_path))
    inventory = FleetInventory()
    notifier = FakeNotifier()
    worker = DeliveryWorker(
        store, BOX, notifier, policy or DeliveryPolicy(attempts=3, backoff_s=0.05, timeout_s=0.3)
    )
    evaluator = AlertEvaluator(
        store, inventory, lambda: {"prod": ["eu"], "lab": []}, LatestFigures(), RestartHistory(),
        worker, EvaluatorConfig(interval_s=3600, repeat_s=3600), clock=clock,
    )  # fmt: skip
    return Engine(store, inventory, notifier, evaluator, worker)
