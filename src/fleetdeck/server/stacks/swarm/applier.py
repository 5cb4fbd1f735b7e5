"""Deploying a Compose project to a Swarm as services, overlay networks, secrets and configs.

:class:`SwarmApplier` implements :class:`~fleetdeck.server.stacks.plan.StackApplier` for
Swarm environments, through a reachable manager's agent (explicit routes of
:mod:`fleetdeck.agent.api_swarm_stacks`; the socket is never proxied). A plan compares the
desired specs with the stack's services (``com.docker.stack.namespace``) per Compose key and
by image digest; an apply creates what is missing, sends the specs, lets Swarm roll them
(update_config and rollback_config always explicit), waits for convergence and health, and
reports a Swarm rollback as such. Where a node's kernel has no IPVS there is no routing mesh:
ports are published in host mode, endpoints use DNS round robin, and the plan says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.server.fleet.service import manager_of
from fleetdeck.server.stacks.plan import (
    Action,
    DeployOutcome,
    DiscoveredStack,
    Plan,
    ProgressEvent,
    ServiceStatus,
    Strategy,
    TargetKind,
)
from fleetdeck.server.stacks.swarm import cleanup as swarm_cleanup
from fleetdeck.server.stacks.swarm import provision as swarm_provision
from fleetdeck.server.stacks.swarm.compare import compare, image_of, removal, with_fingerprint
from fleetdeck.server.stacks.swarm.converge import (
    Watch,
    converge,
    service_status,
    spec_labels,
)
from fleetdeck.server.stacks.swarm.desired import Desired
from fleetdeck.server.stacks.swarm.objects import (
    configs_needed,
    networks_needed,
    secrets_needed,
)
from fleetdeck.server.stacks.swarm.spec import (
    SpecInputs,
    SwarmObject,
    scoped,
    service_spec,
    unsupported_keys,
)

if TYPE_CHECKING:
    from fleetdeck.compose import Project
    from fleetdeck.server.fleet.inventory import FleetInventory
    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.stacks.host.plan import RegistryAuth
    from fleetdeck.server.stacks.plan import Change, DeployTarget

Progress = Callable[[ProgressEvent], Awaitable[None]]
#: How long an apply waits for every changed service to converge (health gates included).
CONVERGE_TIMEOUT_S = 600.0
NO_MESH_NOTE = (
    "the routing mesh is unavailable on this Swarm (a node's kernel has no IPVS): "
    "ports are published in host mode and services use DNS round robin (dnsrr)"
)


class SwarmApplier:
    """Stacks on Swarm environments, operated through one manager's agent.

    Args:
        manager_for: Environment → the link to a reachable manager's agent.
        inventory: The fleet's live inventory (each node's agent reports IPVS).
        hash_key: Key of the HMAC that names secrets by content (so a name never gives away a
            hash of a secret value someone could guess offline).
        converge_timeout_s: How long an apply waits for the services to converge.
        registry_auth: ``async (image) -> credentials | None``: what ``fleetdeck registry``
            stores for the image's registry. They go with the digest lookup and with every
            service spec, as ``docker stack deploy --with-registry-auth`` sends them, so each
            node can pull a private image.
    """

    def __init__(
        self,
        manager_for: Callable[[str], AgentLink],
        inventory: FleetInventory,
        *,
        hash_key: bytes = b"",
        converge_timeout_s: float = CONVERGE_TIMEOUT_S,
        registry_auth: RegistryAuth | None = None,
    ) -> None:
        self._manager_for = manager_for
        self.inventory = inventory
        self.hash_key = hash_key
        self.converge_timeout_s = converge_timeout_s
        self._auth = registry_auth

    @classmethod
    def for_fleet(
        cls, fleet: Fleet, *, hash_key: bytes = b"", registry_auth: RegistryAuth | None = None
    ) -> SwarmApplier:
        """The applier for a server's fleet (managers picked as the Swarm API picks them)."""
        return cls(
            lambda env: manager_of(fleet, env),
            fleet.inventory,
            hash_key=hash_key,
            registry_auth=registry_auth,
        )

    async def _credentials(self, image: str) -> dict[str, str] | None:
        """The stored credentials for ``image``'s registry, if any."""
        return await self._auth(image) if self._auth is not None and image else None

    # ---------------------------------------------------------------- helpers
    def _link(self, environment: str) -> AgentLink:
        return self._manager_for(environment)

    def routing_mesh(self, environment: str) -> bool:
        """Whether every node of the environment reported IPVS (unknown counts as no)."""
        nodes = self.inventory.nodes(environment)
        return bool(nodes) and all(n.info is not None and n.info.ipvs for n in nodes)

    @staticmethod
    async def _snapshot(link: AgentLink, stack: str) -> dict[str, Any]:
        return await link.agent.swarm_stack(stack)

    async def _resolve_images(
        self, link: AgentLink, project: Project, target: DeployTarget
    ) -> dict[str, str]:
        """Service → image with digest: pinned ones as given, tags asked of the registry once."""
        wanted = {
            name: svc.image or ""
            for name, svc in project.services.items()
            if name not in target.pinned_images
        }
        users: dict[str, list[str]] = {}
        for name, ref in wanted.items():
            users.setdefault(ref, []).append(name)

        async def one(ref: str) -> tuple[str, str]:
            if "@sha256:" in ref:
                return ref, ref
            auth = await self._credentials(ref)
            try:
                answer = await link.agent.swarm_image_digest(ref, auth)
            except (NotFoundError, InvalidInputError) as exc:
                services = ", ".join(repr(s) for s in users[ref])
                raise InvalidInputError(
                    f"service {services}: image {ref} cannot be found in its registry: "
                    f"{exc.message}"
                ) from None
            digest = answer.digest or ""
            return ref, f"{ref}@{digest}" if digest else ref

        resolved = dict(await asyncio.gather(*(one(ref) for ref in users)))
        return {**{n: resolved[r] for n, r in wanted.items()}, **target.pinned_images}

    async def _desired(
        self, link: AgentLink, project: Project, target: DeployTarget, strategy: Strategy
    ) -> Desired:
        problems = [
            f"{name}: {', '.join(keys)}"
            for name, service in project.services.items()
            if (keys := unsupported_keys(service))
        ]
        if problems:
            raise InvalidInputError(
                "not supported on a Swarm: " + "; ".join(problems),
                hint="remove these keys or deploy the stack to a plain host",
            )
        stack = target.stack
        networks = networks_needed(project, stack)
        secrets = secrets_needed(project, stack, target.secrets, self.hash_key)
        configs = configs_needed(project, stack, target.secrets, self.hash_key)
        images = await self._resolve_images(link, project, target)
        mesh = self.routing_mesh(target.environment)
        inputs = SpecInputs(
            stack=stack,
            routing_mesh=mesh,
            strategy=strategy,
            images=images,
            secrets={k: SwarmObject(o.name) for k, o in secrets.items()},
            configs={k: SwarmObject(o.name) for k, o in configs.items()},
        )
        notes = [] if mesh else [NO_MESH_NOTE]
        specs: dict[str, dict[str, Any]] = {}
        for name, service in project.services.items():
            spec, service_notes = service_spec(name, service, project, inputs)
            scaled = target.replicas.get(name)
            if scaled is not None and "Replicated" in (spec.get("Mode") or {}):
                spec["Mode"] = {"Replicated": {"Replicas": scaled}}  # fleetdeck scale's count
            specs[name] = with_fingerprint(spec)
            notes.extend(service_notes)
            if service.depends_on:
                notes.append(f"{name}: Swarm starts services in any order (depends_on unused)")
        return Desired(specs, networks, secrets, configs, images, notes)

    # ------------------------------------------------------------------- plan
    async def plan(self, project: Project, target: DeployTarget) -> Plan:
        """Compare the project with the stack's services on the Swarm; change nothing."""
        link = self._link(target.environment)
        desired = await self._desired(link, project, target, Strategy.auto)
        snapshot = await self._snapshot(link, target.stack)
        return self._plan_of(target, desired, snapshot)

    @staticmethod
    def _plan_of(target: DeployTarget, desired: Desired, snapshot: dict[str, Any]) -> Plan:
        existing = {s["name"]: s for s in snapshot["services"]}
        changes = [
            _forced(compare(name, spec, existing.get(scoped(target.stack, name))), target)
            for name, spec in sorted(desired.specs.items())
        ]
        wanted = {scoped(target.stack, name) for name in desired.specs}
        prefix = f"{target.stack}_"
        changes.extend(
            removal(full.removeprefix(prefix), service)
            for full, service in sorted(existing.items())
            if full not in wanted
        )
        return Plan(target.stack, target.environment, changes, notes=list(desired.notes))

    # ------------------------------------------------------------------ apply
    async def apply(
        self,
        project: Project,
        plan: Plan,
        target: DeployTarget,
        *,
        strategy: Strategy,
        progress: Progress,
    ) -> DeployOutcome:
        """Create networks, secrets and configs, send the specs, wait for convergence.

        The plan passed in is what the user saw; the work is recomputed from the Swarm as it
        is now (with the chosen strategy), so an interrupted deploy simply continues.
        """
        stack = target.stack
        link = self._link(target.environment)
        desired = await self._desired(link, project, target, strategy)
        snapshot = await self._snapshot(link, stack)
        current = self._plan_of(target, desired, snapshot)
        await swarm_provision.ensure_networks(link, stack, desired, snapshot, progress)
        ids = await swarm_provision.ensure_data(link, stack, desired, snapshot, progress)
        since = datetime.now(UTC)
        watches = await self._send_services(link, target, desired, current, snapshot, ids, progress)
        await converge(
            link,
            stack,
            watches,
            since=since,
            timeout_s=self.converge_timeout_s,
            progress=progress,
        )
        if not watches and current.is_noop:
            # Nothing was sent: what runs is what the snapshot says (no further round trips).
            digests = {
                s["name"].removeprefix(f"{stack}_"): image_of(s.get("Spec") or {})
                for s in snapshot["services"]
            }
            await swarm_cleanup.remove_unused(link, stack, desired, progress, snapshot)
            await progress(ProgressEvent(stack, "done", "ok", "nothing to change"))
            return DeployOutcome(True, "nothing to change", image_digests=digests)
        failed = [w for w in watches if w.failed]
        if failed:
            # Swarm rolled one back, or one can never converge (no node can take its tasks):
            # either way the stack goes back as one unit.
            rolled_back = any(w.rolled_back or w.undo for w in failed)
            if rolled_back:
                since = datetime.now(UTC)
                back = await swarm_cleanup.roll_back_others(link, stack, watches, progress)
                await converge(
                    link,
                    stack,
                    back,
                    since=since,
                    timeout_s=self.converge_timeout_s,
                    progress=progress,
                )
            digests = await self._running_images(link, stack)
            message = "; ".join(f"{w.service}: {w.failed}" for w in failed)
            if rolled_back and not any(w.rolled_back for w in failed):
                # Only fleetdeck's undo happened: say so (a Swarm rollback says it itself,
                # "… and Swarm rolled it back (…)", and once is enough).
                message = f"rolled back: {message}"
            return DeployOutcome(False, message, rolled_back=rolled_back, image_digests=digests)
        digests = await self._running_images(link, stack)
        await swarm_cleanup.remove_unused(link, stack, desired, progress)
        changed = sum(1 for c in current.changes if c.action is not Action.unchanged)
        message = f"{changed} service(s) changed" if changed else "nothing to change"
        await progress(ProgressEvent(stack, "done", "ok", message))
        return DeployOutcome(True, message, image_digests=digests)

    async def _running_images(self, link: AgentLink, stack: str) -> dict[str, str]:
        """Service → the image reference (with digest) its spec runs now."""
        snapshot = await self._snapshot(link, stack)
        return {
            s["name"].removeprefix(f"{stack}_"): image_of(s.get("Spec") or {})
            for s in snapshot["services"]
        }

    async def _send_services(
        self,
        link: AgentLink,
        target: DeployTarget,
        desired: Desired,
        plan: Plan,
        snapshot: dict[str, Any],
        ids: dict[str, str],
        progress: Progress,
    ) -> list[Watch]:
        stack = target.stack
        existing = {s["name"]: s for s in snapshot["services"]}

        async def send(change: Any) -> Watch | None:
            full = scoped(stack, change.service)
            if change.action is Action.unchanged:
                return None
            if change.action is Action.remove:
                await progress(ProgressEvent(stack, "remove", "started", full, change.service))
                await link.agent.remove_swarm_service(full)
                await progress(ProgressEvent(stack, "remove", "ok", full, change.service))
                return None
            spec = swarm_provision.with_ids(desired.specs[change.service], ids)
            step = "scale" if change.action is Action.scale else "create"
            what = change.reason or change.action.value
            await progress(ProgressEvent(stack, step, "started", what, change.service))
            auth = await self._credentials(image_of(spec))
            if change.action is Action.create:
                await link.agent.create_swarm_service(spec, auth)
            else:
                version = existing[full]["Version"]["Index"]
                await link.agent.update_swarm_service(full, spec, version, auth)
            global_mode = "Global" in (spec.get("Mode") or {})
            return Watch(change.service, full, global_mode=global_mode, sent=spec_labels(spec))

        results = await asyncio.gather(*(send(c) for c in plan.changes))
        return [w for w in results if w is not None]

    # ------------------------------------------------------- remove / status
    async def remove(self, stack: str, target: DeployTarget, *, progress: Progress) -> None:
        """Remove the stack's services, then its networks, secrets and configs."""
        link = self._link(target.environment)
        await swarm_cleanup.remove_stack(link, stack, progress)

    async def status(self, stack: str, target: DeployTarget) -> list[ServiceStatus]:
        """Each service of the stack with its tasks (running ones are healthy: see converge)."""
        snapshot = await self._snapshot(self._link(target.environment), stack)
        return [service_status(stack, s, snapshot["tasks"]) for s in snapshot["services"]]

    async def discover(self, target: DeployTarget) -> list[DiscoveredStack]:
        """The Swarm's stacks (any service labelled with a namespace)."""
        link = self._link(target.environment)
        found = await link.agent.swarm_stacks()
        return [
            DiscoveredStack(
                name=item["namespace"],
                environment=target.environment,
                kind=TargetKind.swarm,
                services=[s.removeprefix(item["namespace"] + "_") for s in item["services"]],
                managed=bool(item.get("fleetdeck")),
            )
            for item in found
        ]


def _forced(change: Change, target: DeployTarget) -> Change:
    """An unchanged service the target asks to send again (a drift revert) is re-sent."""
    if change.action is not Action.unchanged or change.service not in target.redeploy:
        return change
    reason = "drift: undoing a change made by hand"
    return dataclasses.replace(change, action=Action.recreate, reason=reason)
