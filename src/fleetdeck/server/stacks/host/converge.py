"""Converging one service's replicas to its spec: create, scale, roll, retire.

Called level by level of the startup order; each call starts from the containers observed
now. Replacements go in batches of ``update_config.parallelism`` with ``delay`` between
them, start-first (new replica healthy before an old one leaves) or stop-first (an old one
leaves first: needed when a fixed host port cannot be held twice).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fleetdeck.errors import FleetdeckError, NodeUnreachableError
from fleetdeck.server.stacks.host.plan import is_current
from fleetdeck.server.stacks.host.progress import Replica
from fleetdeck.server.stacks.host.rollout import NO_HEALTHCHECK_MONITOR_S, HealthGateError
from fleetdeck.server.stacks.plan import Strategy

if TYPE_CHECKING:
    from fleetdeck.compose.model_deploy import UpdateConfig
    from fleetdeck.server.stacks.host.node import ObservedContainer
    from fleetdeck.server.stacks.host.plan import ImageChoice
    from fleetdeck.server.stacks.host.rollout import Rollout
    from fleetdeck.server.stacks.host.spec import ServiceSpec


@dataclass(frozen=True)
class UpdatePolicy:
    """How a service's replicas are replaced in this deploy."""

    start_first: bool
    parallelism: int
    delay: float
    monitor: float
    failure_action: str  # rollback | pause | continue


def update_policy(
    spec: ServiceSpec, update: UpdateConfig | None, strategy: Strategy
) -> UpdatePolicy:
    """The policy from ``--strategy`` and ``update_config``; fixed host ports force stop-first."""
    if strategy is Strategy.auto:
        start_first = (update.order if update and update.order else "start-first") == "start-first"
    else:
        start_first = strategy is Strategy.start_first
    if spec.fixed_ports:
        start_first = False
    parallelism = update.parallelism if update and update.parallelism is not None else 1
    return UpdatePolicy(
        start_first=start_first,
        parallelism=parallelism or max(spec.replicas, 1),
        delay=update.delay if update and update.delay else 0.0,
        monitor=update.monitor if update and update.monitor else NO_HEALTHCHECK_MONITOR_S,
        failure_action=update.failure_action if update and update.failure_action else "rollback",
    )


class ServiceConvergence:
    """Brings one service from its observed containers to its spec.

    A replica that fails its health gate raises :class:`HealthGateError` carrying the
    service's ``failure_action``, except with ``continue``: then the replica is kept running
    without the service's name, the update goes on, and :attr:`failures` says what failed.
    """

    def __init__(
        self,
        rollout: Rollout,
        spec: ServiceSpec,
        image: ImageChoice,
        policy: UpdatePolicy,
        *,
        job: bool = False,
    ) -> None:
        self.rollout = rollout
        self.spec = spec
        self.image = image
        self.policy = policy
        self.job = job
        self.failures: list[str] = []
        self._numbers: set[int] = set()

    def _next_number(self) -> int:
        """The lowest number no container of the service holds (as Compose numbers)."""
        number = 1
        while number in self._numbers:
            number += 1
        self._numbers.add(number)
        return number

    async def run(self, containers: list[ObservedContainer]) -> None:
        """Converge; raises HealthGateError when a new replica fails its gate (not continue)."""
        try:
            await self._converge(containers)
        except HealthGateError as exc:
            exc.service = self.spec.service
            exc.failure_action = self.policy.failure_action
            raise

    async def _converge(self, containers: list[ObservedContainer]) -> None:
        # A replica retired earlier (renamed <id12>_NAME) holds no number; it is never kept.
        self._numbers = {c.number for c in containers if not c.replaced}
        spec, wanted = self.spec, self.spec.replicas
        current = [
            c for c in containers if not c.replaced and is_current(c, spec, self.image, self.job)
        ]
        others = sorted(
            (c for c in containers if c not in current), key=lambda c: (c.running, c.number)
        )
        keep, extra = current[:wanted], current[wanted:]
        for container in keep:
            if container.running and not self.job and self._lacks_aliases(container):
                # A replica an interrupted deploy left without its name: gate, then name it.
                try:
                    await self._gate_and_attach(Replica(container.name, None, container.id))
                except HealthGateError as exc:
                    await self._failed(exc, container.id)
        need = wanted - len(keep)
        fresh = not containers
        while need > 0:
            count = min(self.policy.parallelism, need)
            old = [others.pop(0) for _ in range(min(count, len(others)))]
            serving = len(keep) > 0
            if not self.policy.start_first:
                for item in old:
                    await self._retire(item, drain=serving)
            # Each new replica of the batch takes one old one's place (for progress).
            successors = [self._new_replica(fresh, o.id) for o in old]
            successors += [self._new_replica(fresh, None) for _ in range(count - len(old))]
            new = await asyncio.gather(*successors)
            if self.policy.start_first:
                for item in old:
                    await self._retire(item, drain=True)
            keep.extend(cid for cid in new if cid is not None)  # type: ignore[misc]
            need -= count
            if need > 0 and self.policy.delay:
                await asyncio.sleep(self.policy.delay)
        for item in [*others, *extra]:
            await self._retire(item, drain=item.running)

    async def _retire(self, item: ObservedContainer, *, drain: bool) -> None:
        """Retire an old replica; it is renamed, so its number is free for the next one."""
        await self.rollout.retire(self.spec, item, drain=drain)
        self._numbers.discard(item.number)

    def _lacks_aliases(self, container: ObservedContainer) -> bool:
        return any(
            not set(endpoint.get("Aliases") or []) <= set(container.aliases(net))
            for net, endpoint in self.spec.networks.items()
        )

    async def _gate_and_attach(self, who: Replica) -> None:
        assert who.cid is not None  # noqa: S101 - only a created container is gated
        await self.rollout.wait_healthy(self.spec, who, self.policy.monitor)
        await self.rollout.attach(self.spec, who.cid)

    async def _new_replica(self, fresh: bool, replaces: str | None) -> str | None:
        """Create, start and gate one replica; ``replaces`` is the old one it succeeds."""
        number = self._next_number()
        name = f"{self.rollout.ctx.stack}-{self.spec.service}-{number}"
        text = Replica(name, "new", None, replaces).text
        try:
            cid = await self.rollout.create(
                self.spec, self.image.ref, number, with_aliases=fresh, replaces=replaces
            )
        except NodeUnreachableError:
            raise  # the node is gone: nothing can be undone now; the next deploy converges
        except FleetdeckError as exc:
            # The engine refused the replica (a start error, a clash): a failed gate as well.
            failed = HealthGateError(f"{text} could not start: {exc.message}")
            failed.__cause__ = exc
            return await self._failed(failed, None)
        try:
            if self.job:
                await self._wait_job(cid, name)
            else:
                await self._gate_and_attach(Replica(name, "new", cid, replaces))
        except HealthGateError as exc:
            return await self._failed(exc, cid)
        return cid

    async def _failed(self, exc: HealthGateError, cid: str | None) -> str | None:
        """Raise a failed gate, or with ``continue`` keep the replica out of the name."""
        if self.policy.failure_action != "continue":
            raise exc
        self.failures.append(exc.message)
        if cid is not None:
            await self.rollout.exclude(self.spec, cid)
        await self.rollout.say(
            "health", "failed", f"{exc.message}; kept without the service name (continue)",
            self.spec.service, None,
        )  # fmt: skip
        return cid

    async def _wait_job(self, cid: str, name: str) -> None:
        """A one-shot service others wait on: it must exit with code 0."""
        while True:
            seen = await self.rollout.node.inspect(cid)
            if seen is None:
                raise HealthGateError(f"{name} disappeared before it completed")
            if seen.state in ("exited", "dead"):
                if seen.exit_code == 0:
                    return
                raise HealthGateError(f"{name} exited with code {seen.exit_code}")
            await asyncio.sleep(0.5)
