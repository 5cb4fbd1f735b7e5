"""Autoscaling policies and decisions in the store."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from fleetdeck.errors import NotFoundError
from fleetdeck.server.autoscale.algorithm import Behaviour
from fleetdeck.server.autoscale.policy import Policy, split_target
from fleetdeck.server.store.models import utcnow
from fleetdeck.server.store.models_autoscale import AutoscaleDecision, AutoscalePolicy

if TYPE_CHECKING:
    from fleetdeck.server.autoscale.algorithm import Decision
    from fleetdeck.server.store import Store

#: Decisions kept per policy (the newest); older ones are dropped as new ones come.
KEEP_DECISIONS = 2000


def _policy(row: AutoscalePolicy) -> Policy:
    kind, scope, service = split_target(row.target)
    extra = dict(row.behaviour or {})
    behaviour = Behaviour(scale_down_window_s=row.scale_down_window_s, **extra)
    return Policy(
        kind=kind, scope=scope, service=service, minimum=row.min_replicas,
        maximum=row.max_replicas, cpu=row.cpu, memory=row.memory,
        prometheus_query=row.prometheus_query, prometheus_target=row.prometheus_target,
        recommend_only=row.recommend_only, behaviour=behaviour,
    )  # fmt: skip


def policy_json(policy: Policy) -> dict[str, Any]:
    """A policy as the API answers it."""
    b = asdict(policy.behaviour)
    return {
        "target": policy.ref,
        "kind": policy.kind,
        "min": policy.minimum,
        "max": policy.maximum,
        "cpu": policy.cpu,
        "memory": policy.memory,
        "prometheus": policy.prometheus_query,
        "prometheus_target": policy.prometheus_target,
        "recommend_only": policy.recommend_only,
        "scale_down_window_s": b.pop("scale_down_window_s"),
        "behaviour": b,
    }


class AutoscaleRepository:
    """The ``autoscale_policies`` and ``autoscale_decisions`` rows."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def policies(self) -> list[Policy]:
        """Every policy, by target."""
        async with self._store.session() as session:
            rows = await session.scalars(select(AutoscalePolicy).order_by(AutoscalePolicy.target))
            return [_policy(r) for r in rows]

    async def find(self, target: str) -> Policy | None:
        """One policy by its stored target key."""
        async with self._store.session() as session:
            row = await session.scalar(
                select(AutoscalePolicy).where(AutoscalePolicy.target == target)
            )
            return _policy(row) if row is not None else None

    async def put(self, policy: Policy, actor: str) -> None:
        """Store (or replace) a checked policy."""
        b = asdict(policy.behaviour)
        window = b.pop("scale_down_window_s")
        async with self._store.transaction() as session:
            row = await session.scalar(
                select(AutoscalePolicy).where(AutoscalePolicy.target == policy.target)
            )
            if row is None:
                row = AutoscalePolicy(target=policy.target)
                session.add(row)
            row.min_replicas, row.max_replicas = policy.minimum, policy.maximum
            row.cpu, row.memory = policy.cpu, policy.memory
            row.prometheus_query, row.prometheus_target = (
                policy.prometheus_query, policy.prometheus_target,
            )  # fmt: skip
            row.recommend_only, row.scale_down_window_s = policy.recommend_only, int(window)
            row.behaviour, row.actor, row.updated_at = b, actor, utcnow()

    async def remove(self, target: str) -> None:
        """Forget a policy and its decisions; NotFoundError when there is none."""
        async with self._store.transaction() as session:
            result = await session.execute(
                delete(AutoscalePolicy).where(AutoscalePolicy.target == target)
            )
            if not getattr(result, "rowcount", 0):
                raise NotFoundError(f"no autoscaling policy for {target.partition(':')[2]}")
            await session.execute(
                delete(AutoscaleDecision).where(AutoscaleDecision.target == target)
            )

    async def record(self, target: str, decision: Decision, applied: bool, at: datetime) -> None:
        """Store one decision (and drop the oldest beyond :data:`KEEP_DECISIONS`)."""
        metrics = {name: rec.to_json() for name, rec in decision.metrics.items()}
        async with self._store.transaction() as session:
            session.add(AutoscaleDecision(
                target=target, at=at, current=decision.current, desired=decision.desired,
                applied=applied, reason=decision.reason, metrics=metrics,
            ))  # fmt: skip
            old = await session.scalars(
                select(AutoscaleDecision.id).where(AutoscaleDecision.target == target)
                .order_by(AutoscaleDecision.id.desc()).offset(KEEP_DECISIONS).limit(1)
            )  # fmt: skip
            cut = old.first()
            if cut is not None:
                await session.execute(
                    delete(AutoscaleDecision).where(
                        AutoscaleDecision.target == target, AutoscaleDecision.id <= cut
                    )
                )

    async def decisions(self, target: str, limit: int = 100) -> list[dict[str, Any]]:
        """The newest decisions of a policy, newest first."""
        async with self._store.session() as session:
            rows = await session.scalars(
                select(AutoscaleDecision).where(AutoscaleDecision.target == target)
                .order_by(AutoscaleDecision.id.desc()).limit(limit)
            )  # fmt: skip
            return [
                {
                    "at": r.at.astimezone(UTC).isoformat(),
                    "current": r.current,
                    "desired": r.desired,
                    "applied": r.applied,
                    "reason": r.reason,
                    "metrics": r.metrics,
                }
                for r in rows
            ]
