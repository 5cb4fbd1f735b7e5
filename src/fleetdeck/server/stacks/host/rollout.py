"""Replacing a service's replicas on a plain host without dropping requests.

Docker's embedded DNS answers a service name with every container that holds the alias, as
soon as it is connected and until it is gone. So a new replica joins under a name only it
has, becomes healthy, and only then gets the service alias; an old replica first loses the
alias (it is reconnected with its own address, so connections in flight survive), is given
:data:`DRAIN_S` to finish them, and only then stops. Old replicas are stopped, not removed,
until the whole deploy succeeded: :meth:`Rollout.undo` restarts them if a health gate fails.
Progress names each replica as new or old (see :mod:`.progress`).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import FleetdeckError
from fleetdeck.server.stacks.host.progress import Replica, health_reason, short_id
from fleetdeck.server.stacks.host.spec import container_name, replica_labels
from fleetdeck.server.stacks.plan import ProgressEvent
from fleetdeck.wire.containers import IMAGE_REF_LABEL

if TYPE_CHECKING:
    from fleetdeck.server.stacks.host.node import HostNode, ObservedContainer
    from fleetdeck.server.stacks.host.spec import ServiceSpec

#: Time an old replica keeps serving after it left the service's DNS name.
DRAIN_S = 2.0
#: A container without a healthcheck must stay up this long to count as started.
NO_HEALTHCHECK_MONITOR_S = 2.0
#: Upper bound on waiting for a health verdict beyond what the healthcheck itself implies.
HEALTH_MARGIN_S = 60.0
POLL_S = 0.5

Progress = Callable[[ProgressEvent], Awaitable[None]]


class HealthGateError(FleetdeckError):
    """A new replica did not become healthy.

    ``service`` is the service whose replica failed and ``failure_action`` its
    ``update_config.failure_action`` (``rollback``, ``pause`` or ``continue``), both set by
    the service's convergence: the applier acts on them, never on the message's text.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str | None = None,
        failure_action: str = "rollback",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.service = service
        self.failure_action = failure_action


@dataclass
class ReplicaContext:
    """What every replica of this deploy is labelled and mounted with."""

    stack: str
    revision: int
    working_dir: str
    config_files: list[str]
    file_paths: dict[str, str] = field(default_factory=dict)  # "secret:name" → host path


@dataclass
class Journal:
    """What a deploy did, so that a failed one can be undone."""

    created: list[tuple[str, str]] = field(default_factory=list)  # (service, container id)
    retired: list[tuple[str, str]] = field(default_factory=list)  # old replicas, to remove
    stopped: list[tuple[str, str]] = field(default_factory=list)  # were running: undo restarts
    detached: list[tuple[str, str]] = field(default_factory=list)  # old, alias removed
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (id, name before) of retired
    stopping: list[asyncio.Task[None]] = field(default_factory=list)  # stops in flight
    names: dict[str, str] = field(default_factory=dict)  # id → STACK-SERVICE-N, for progress


class Rollout:
    """Creates, gates, attaches, drains and retires replicas on one node."""

    def __init__(self, node: HostNode, ctx: ReplicaContext, progress: Progress) -> None:
        self.node = node
        self.ctx = ctx
        self.progress = progress
        self.journal = Journal()

    async def say(
        self,
        step: str,
        status: str,
        message: str,
        service: str | None,
        container: str | None,
        *,
        who: Replica | None = None,
    ) -> None:
        """Emit one progress event; ``who`` adds which replica it is about (new or old)."""
        extra = who.fields() if who is not None else {}
        await self.progress(
            ProgressEvent(self.ctx.stack, step, status, message, service, container, **extra)
        )

    # ------------------------------------------------------------------ replicas
    def _body(self, spec: ServiceSpec, image: str, number: int) -> dict[str, Any]:
        config = copy.deepcopy(spec.config)
        config["Image"] = image
        labels = replica_labels(
            self.ctx.stack,
            spec,
            number,
            revision=self.ctx.revision,
            working_dir=self.ctx.working_dir,
            config_files=self.ctx.config_files,
        )
        config["Labels"] = {**config.get("Labels", {}), **labels}
        if spec.image and spec.image != image:
            config["Labels"][IMAGE_REF_LABEL] = spec.image  # shown instead of the digest
        mounts = config.setdefault("HostConfig", {}).setdefault("Mounts", [])
        for key, target in spec.files.values():
            path = self.ctx.file_paths.get(key)
            if path:
                mounts.append({"Type": "bind", "Source": path, "Target": target, "ReadOnly": True})
        return config

    async def create(
        self,
        spec: ServiceSpec,
        image: str,
        number: int,
        *,
        with_aliases: bool,
        replaces: str | None = None,
    ) -> str:
        """Create and start one replica; service aliases now or (rolling) once healthy.

        ``replaces`` is the id of the old replica this one takes over from, for progress.
        """
        name = container_name(self.ctx.stack, spec.service, number)
        who = Replica(name, "new", None, replaces)
        networks = {
            net: endpoint if with_aliases else {**endpoint, "Aliases": []}
            for net, endpoint in spec.networks.items()
        }
        config = self._body(spec, image, number)
        first = next(iter(networks), None)
        if first is not None:
            config["NetworkingConfig"] = {"EndpointsConfig": {first: networks.pop(first)}}
            config["HostConfig"]["NetworkMode"] = first
        await self.say(
            "create", "started", f"creating {who.text}{who.succession}", spec.service, name,
            who=who,
        )  # fmt: skip
        cid = await self.node.create_container(name, config, networks)
        self.journal.created.append((spec.service, cid))
        self.journal.names[cid] = name
        who = Replica(name, "new", cid, replaces)
        await self.node.action(cid, "start")
        await self.say(
            "start", "ok", f"started {who.text}{who.succession}", spec.service, name, who=who
        )
        return cid

    async def wait_healthy(self, spec: ServiceSpec, who: Replica, monitor: float) -> None:
        """Wait until the container is healthy (or up for ``monitor`` s without a healthcheck).

        Raises:
            HealthGateError: It became unhealthy, exited, or no verdict came in time; the
                message has the healthcheck's last exit code and output, which say why.
        """
        assert who.cid is not None  # noqa: S101 - only a created container is waited for
        name, text = who.name, who.text
        await self.say(
            "health", "started", f"waiting for {text} to be healthy", spec.service, name, who=who
        )
        started = time.monotonic()
        deadline = started + HEALTH_MARGIN_S + _healthcheck_budget(spec)
        while True:
            seen = await self.node.inspect(who.cid)
            if seen is None or seen.state in ("exited", "dead"):
                raise HealthGateError(f"{text} stopped while starting ({_stopped(seen)})")
            if seen.has_healthcheck:
                if seen.health == "healthy":
                    break
                if seen.health == "unhealthy":
                    why = health_reason(seen.last_check)
                    raise HealthGateError(
                        f"{text} failed its healthcheck" + (f" ({why})" if why else "")
                    )
            elif seen.running and time.monotonic() - started >= monitor:
                break
            if time.monotonic() > deadline:
                why = health_reason(seen.last_check)
                last = f" (last check: {why})" if why else ""
                raise HealthGateError(f"{text} did not become healthy in time{last}")
            await asyncio.sleep(POLL_S)
        await self.say("health", "ok", f"{text} is healthy", spec.service, name, who=who)

    async def attach(self, spec: ServiceSpec, container: ObservedContainer | str) -> None:
        """Give a replica its service aliases on every network where it lacks them."""
        seen = container if not isinstance(container, str) else await self.node.inspect(container)
        if seen is None:
            return
        for net, endpoint in spec.networks.items():
            wanted = list(endpoint.get("Aliases") or [])
            if not set(wanted) <= set(seen.aliases(net)) or net not in seen.networks:
                await self.node.reconnect(net, seen.id, wanted)

    async def _drop_aliases(self, spec: ServiceSpec, seen: ObservedContainer) -> None:
        for net in spec.networks:
            service_names = spec.networks[net].get("Aliases") or []
            if net in seen.networks and set(seen.aliases(net)) & set(service_names):
                own = [a for a in seen.aliases(net) if a not in service_names]
                await self.node.reconnect(net, seen.id, own)

    async def detach(self, spec: ServiceSpec, old: ObservedContainer) -> None:
        """Take an old replica out of the service's DNS name, keeping its address."""
        await self._drop_aliases(spec, old)
        self.journal.detached.append((spec.service, old.id))

    async def exclude(self, spec: ServiceSpec, cid: str) -> None:
        """Keep a replica that failed its gate running, but out of the service's DNS name.

        ``update_config.failure_action: continue``: the update goes on, and a failed replica
        must take no traffic (it is left for a person to look at, not undone).
        """
        seen = await self.node.inspect(cid)
        if seen is not None:
            await self._drop_aliases(spec, seen)

    async def retire(self, spec: ServiceSpec, old: ObservedContainer, *, drain: bool) -> None:
        """Detach, rename, drain and stop an old replica (kept until the deploy succeeded).

        It is renamed ``<id12>_STACK-SERVICE-N`` as Compose renames a replaced container, so
        its number is free for a new replica (numbers stay low across rolling updates).
        """
        who = Replica(old.name, "old", old.id)
        self.journal.names[old.id] = old.name
        if old.running:
            await self.detach(spec, old)
        if not old.replaced:
            await self.node.rename(old.id, f"{old.id[:12]}_{old.name}")
            self.journal.renamed.append((old.id, old.name))
        if old.running:
            if drain:
                await self.say(
                    "stop", "info", f"draining {who.text}", spec.service, old.name, who=who
                )
                await asyncio.sleep(DRAIN_S)
            # Out of DNS and drained: its stop (grace period included) need not hold up the
            # next batch; commit/undo wait for it.
            self.journal.stopping.append(asyncio.create_task(self._stop(spec, old)))
            self.journal.stopped.append((spec.service, old.id))
        self.journal.retired.append((spec.service, old.id))

    async def _stop(self, spec: ServiceSpec, old: ObservedContainer) -> None:
        await self.node.action(old.id, "stop")
        who = Replica(old.name, "old", old.id)
        await self.say("stop", "ok", f"stopped {who.text}", spec.service, old.name, who=who)

    def _known(self, cid: str, role: str) -> Replica:
        """A replica this deploy created or retired, by id (its name from the journal)."""
        return Replica(self.journal.names.get(cid, short_id(cid) or cid), role, cid)

    async def settle(self) -> None:
        """Wait for the stops in flight (their errors are reported, not raised)."""
        results = await asyncio.gather(*self.journal.stopping, return_exceptions=True)
        self.journal.stopping.clear()
        for result in results:
            if isinstance(result, FleetdeckError):
                await self.say("stop", "failed", result.message, None, None)

    # ------------------------------------------------------------------ outcome
    async def commit(self) -> None:
        """The deploy succeeded: remove the retired replicas."""
        await self.settle()
        for service, cid in self.journal.retired:
            await self.node.remove(cid)
            who = self._known(cid, "old")
            await self.say("remove", "ok", f"removed {who.text}", service, None, who=who)

    async def undo(self, specs: dict[str, ServiceSpec]) -> None:
        """Put the previous replicas back: remove new ones, restart and re-attach old ones."""
        await self.say("rollback", "started", "restoring the previous containers", None, None)
        await self.settle()
        for service, cid in reversed(self.journal.created):
            await self.node.remove(cid)
            who = self._known(cid, "new")
            text = f"removed new {who.name} ({short_id(cid)})"
            await self.say("rollback", "info", text, service, None, who=who)
        for cid, name in reversed(self.journal.renamed):
            await self.node.rename(cid, name)  # its name is free: the new replica is gone
        restored = {cid for _, cid in self.journal.stopped}
        for service, cid in self.journal.stopped:
            await self.node.action(cid, "start")
            who = self._known(cid, "old")
            await self.say("rollback", "info", f"restarted {who.text}", service, who.name, who=who)
        for service, cid in [*self.journal.stopped, *self.journal.detached]:
            spec = specs.get(service)
            if spec is None:
                continue
            seen = await self.node.inspect(cid)
            if seen is None:
                continue
            if cid in restored and seen.has_healthcheck:
                try:
                    who = Replica(seen.name, "old", cid)
                    await self.wait_healthy(spec, who, NO_HEALTHCHECK_MONITOR_S)
                except HealthGateError as exc:
                    await self.say("rollback", "failed", exc.message, service, seen.name)
            await self.attach(spec, cid)
        await self.say("rollback", "ok", "previous containers restored", None, None)


def _stopped(seen: ObservedContainer | None) -> str:
    """``state exited, exit code 1`` (or ``gone``) for a replica that stopped while starting."""
    if seen is None:
        return "gone"
    code = f", exit code {seen.exit_code}" if seen.exit_code is not None else ""
    return f"state {seen.state}{code}"


def _healthcheck_budget(spec: ServiceSpec) -> float:
    """Seconds a healthcheck may take to reach a verdict (Docker's defaults when unset)."""
    check = spec.config.get("Healthcheck") or {}
    interval = check.get("Interval", 30 * 10**9) / 10**9
    timeout = check.get("Timeout", 30 * 10**9) / 10**9
    start = check.get("StartPeriod", 0) / 10**9
    retries = check.get("Retries", 3)
    return float(start + (interval + timeout) * (retries + 1))
