"""Scaling one stack service by hand (``fleetdeck scale STACK/SERVICE=N``) or by the autoscaler.

On a plain host the service's replicas change as a rolling update changes them: a new
replica starts under a name only it has, passes its health gate and only then joins the
service's DNS name; a replica no longer wanted leaves the name, drains and stops. Nothing
else of the stack changes and no revision is made: the running revision's files, variables
and image digests are used as they are. On a Swarm the stack's service is scaled by the
manager (Swarm gates its own tasks).

The count is stored first (pending), then applied, then marked converged. A server stopped
in between finds the pending row on its next start, and :meth:`StackScaler.resume` applies
it again from the containers observed then: the host applier converges from what exists, so
no replica is lost or doubled.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fleetdeck.compose.variables import environment as variable_environment
from fleetdeck.errors import (
    ConflictError,
    FleetdeckError,
    InvalidInputError,
    NodeUnreachableError,
    NotFoundError,
)
from fleetdeck.server.fleet.service import manager_of
from fleetdeck.server.loops import BackgroundLoop, Backoff
from fleetdeck.server.stacks import files as stack_files
from fleetdeck.server.stacks.host.applier import jobs_of
from fleetdeck.server.stacks.host.spec import replicas_of
from fleetdeck.server.stacks.plan import DeployOutcome, DeployTarget, TargetKind
from fleetdeck.server.stacks.repository import SHELL_SOURCE, Variable
from fleetdeck.server.stacks.scaling import MAX_REPLICAS, Scaled, effective_counts
from fleetdeck.server.stacks.swarm.spec import scoped

if TYPE_CHECKING:
    from fleetdeck.compose import Project
    from fleetdeck.server.stacks.plan import ProgressEvent
    from fleetdeck.server.stacks.scaling import ScaleRepository
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store.models_stacks import StackDefinition

log = logging.getLogger("fleetdeck.server.stacks")
#: Seconds between looks for scales a stopped server (or an unreachable node) left pending.
RESUME_INTERVAL_S = 10.0
#: Scales in flight, kept referenced: one that its caller stopped waiting for still ends.
_RUNNING: set[asyncio.Task[DeployOutcome]] = set()


async def _ignore(_: ProgressEvent) -> None:
    return None


class StackScaler:
    """Sets stack services' replica counts (``ServerContext.stacks.scaler``)."""

    def __init__(self, stacks: StackService, scales: ScaleRepository) -> None:
        self.stacks = stacks
        self.scales = scales
        self.loop = BackgroundLoop(
            "stack-scales", step=self.resume, interval=RESUME_INTERVAL_S,
            backoff=Backoff(RESUME_INTERVAL_S, 120.0),
        )  # fmt: skip

    async def _running(self, stored: StackDefinition) -> tuple[Project, DeployTarget]:
        """The project and target of the revision that runs (its files, variables, images)."""
        stacks = self.stacks
        assert stored.revision is not None  # noqa: S101 - callers check
        row = await stacks.repo.revision(stored, stored.revision)
        files = await stacks.repo.files(stored.name, row.files)
        chosen = [Variable.from_revision(v) for v in row.variables]
        shell = stacks.repo.opened(stored.name, [v for v in chosen if v.source == SHELL_SOURCE])
        stored_vars = [v for v in chosen if v.source != SHELL_SOURCE]
        values = variable_environment(shell, stacks.repo.opened(stored.name, stored_vars))
        kind = TargetKind(stored.kind)
        project, secrets, fileset = await stacks.load_off_loop(
            stored.name, files, row.env_file, values, swarm=kind is TargetKind.swarm
        )
        directory = stacks.stack_dir(stored.name)
        wins, _ = effective_counts(await self.scales.of_stack(stored.name), project)
        target = DeployTarget(
            stack=stored.name, environment=stored.environment, kind=kind, secrets=secrets,
            files=fileset, pinned_images=dict(row.image_digests or {}),
            revision=stored.revision, working_dir=str(directory),
            config_files=tuple(str(directory / f) for f in stack_files.compose_files(files)),
            replicas=wins,
        )  # fmt: skip
        return project, target

    async def _deployed(self, stack: str) -> StackDefinition:
        stored = await self.stacks.repo.require(stack_files.check_stack_name(stack))
        if stored.revision is None:
            raise ConflictError(
                f"stack {stack!r} has no running revision",
                hint=f"deploy it first: fleetdeck stack deploy {stack}",
            )
        return stored

    def _check(self, project: Project, stack: str, service: str, replicas: int) -> None:
        """Refuse what cannot be scaled, before anything is stored or changed."""
        found = project.services.get(service)
        if found is None:
            raise NotFoundError(
                f"stack {stack!r} has no service {service!r}",
                hint=f"its services: {', '.join(sorted(project.services))}",
            )
        if service in jobs_of(project):
            raise InvalidInputError(
                f"service {service!r} of stack {stack!r} is a one-shot job others wait on: "
                "it is not scaled"
            )
        fixed = [p for p in found.ports if p.published]
        if fixed and replicas > 1:
            raise InvalidInputError(
                f"service {service!r} of stack {stack!r} publishes fixed host port(s) "
                f"{', '.join(str(p.published) for p in fixed)}: only one replica can hold them",
                hint="publish the container port without a host port, or put a proxy in front",
            )

    async def scale(
        self,
        stack: str,
        service: str,
        replicas: int,
        actor: str,
        *,
        progress: Any = None,
    ) -> dict[str, Any]:
        """Set ``service``'s replica count and converge to it; the result as JSON.

        Raises:
            InvalidInputError: A count out of range, a job, fixed host ports.
            NotFoundError: No such stack or service.
            ConflictError: A deploy of the stack runs, or a new replica failed its gate (the
                scale was undone then and the previous count stays).
        """
        if not 0 <= replicas <= MAX_REPLICAS:
            raise InvalidInputError(
                f"replica count {replicas} out of range", hint=f"0 to {MAX_REPLICAS}"
            )
        stored = await self._deployed(stack)
        lock = self.stacks.lock(stored.name)
        if lock.locked():
            raise ConflictError(
                f"a deploy or scale of stack {stack!r} is in progress", hint="wait for it to end"
            )
        async with lock:
            project, target = await self._running(stored)
            self._check(project, stack, service, replicas)
            before = await self.scales.find(stored.name, service)
            count = replicas_of(project.services[service])
            await self.scales.put(Scaled(stored.name, service, replicas, count, True, actor))
            task = asyncio.create_task(
                self._apply(stored, project, target, service, replicas, progress or _ignore)
            )
            _RUNNING.add(task)
            task.add_done_callback(_RUNNING.discard)
            try:
                # Shielded: a caller that goes away must not cut a scale in half.
                outcome = await asyncio.shield(task)
            except FleetdeckError:
                await self._restore(stored.name, service, before)  # the engine refused it
                raise
        if outcome.rolled_back:
            await self._restore(stored.name, service, before)
            raise ConflictError(outcome.message, hint="see why with: fleetdeck stack logs")
        if not outcome.ok:
            raise NodeUnreachableError(outcome.message, hint="it is finished once the node is back")
        previous = target.replicas.get(service, count)
        return {
            "stack": stored.name,
            "service": service,
            "replicas": replicas,
            "previous": previous,
            "message": outcome.message,
        }

    async def _restore(self, stack: str, service: str, before: Scaled | None) -> None:
        """A scale that was undone or refused: the count before it stands again."""
        if before is None:
            await self.scales.drop(stack, [service])
        else:
            await self.scales.put(replace(before, pending=False))

    async def _apply(
        self,
        stored: StackDefinition,
        project: Project,
        target: DeployTarget,
        service: str,
        replicas: int,
        progress: Any,
    ) -> DeployOutcome:
        """Converge the service to ``replicas``; mark the row converged when it did."""
        target = replace(target, replicas={**target.replicas, service: replicas})
        try:
            if target.kind is TargetKind.swarm:
                link = manager_of(self.stacks.fleet, target.environment)
                await link.agent.scale_service(scoped(stored.name, service), replicas)
                outcome = DeployOutcome(True, f"{service} scaled to {replicas} on the Swarm")
            else:
                outcome = await self.stacks.host.scale(project, target, service, progress=progress)
        except NodeUnreachableError as exc:
            return DeployOutcome(False, f"{exc.message}; the scale stays pending")
        if outcome.ok:
            await self.scales.converged(stored.name, service, replicas)
            if replicas == replicas_of(project.services[service]):
                await self.scales.drop(stored.name, [service])  # the file says so anyway
        return outcome

    async def resume(self) -> None:
        """Converge the scales left pending (a server stopped mid-scale, a node that was away).

        A stack being deployed is skipped this time. A scale undone by a failed gate, or
        refused for good, is dropped: the file's count rules again. A node away keeps it
        pending (``_apply`` says so rather than raising).
        """
        for row in await self.scales.pending():
            lock = self.stacks.lock(row.stack)
            if lock.locked():
                continue
            try:
                stored = await self._deployed(row.stack)
            except FleetdeckError:
                await self.scales.drop(row.stack)  # the stack is gone, or not deployed
                continue
            try:
                async with lock:
                    project, target = await self._running(stored)
                    if row.service not in project.services:
                        await self.scales.drop(row.stack, [row.service])
                        continue
                    outcome = await self._apply(
                        stored, project, target, row.service, row.replicas, _ignore
                    )
            except FleetdeckError as exc:
                log.warning("pending scale of %s/%s dropped: %s", row.stack, row.service,
                            exc.message)  # fmt: skip
                await self.scales.drop(row.stack, [row.service])
                continue
            if outcome.rolled_back:
                # Undone: what ran before runs again; the file's count rules from now on.
                await self.scales.drop(row.stack, [row.service])
            log.info("pending scale of %s/%s: %s", row.stack, row.service, outcome.message)
