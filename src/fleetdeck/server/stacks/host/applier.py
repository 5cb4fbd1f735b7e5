"""The plain-host :class:`~fleetdeck.server.stacks.plan.StackApplier`: containers via the agent.

A deploy: observe the project's containers, resolve every image (registry digest or local
id: an image that exists nowhere stops the deploy before anything changes), check host
ports, then networks and volumes, pulls and builds, and the services level by level of the
startup order (services of a level in parallel). A failed health gate undoes what this
deploy did (see :mod:`.rollout`) unless ``update_config.failure_action`` says otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from fleetdeck.compose import startup_order
from fleetdeck.errors import ConflictError, FleetdeckError, NotFoundError
from fleetdeck.server.stacks.host.converge import ServiceConvergence, update_policy
from fleetdeck.server.stacks.host.node import HostNode, Observed
from fleetdeck.server.stacks.host.plan import (
    ImageChoice,
    RegistryAuth,
    check_ports,
    image_users,
    plan_orphans,
    plan_service,
    resolve_images,
)
from fleetdeck.server.stacks.host.rollout import HealthGateError, ReplicaContext, Rollout
from fleetdeck.server.stacks.host.spec import (
    L_NETWORK,
    L_PROJECT,
    L_SERVICE,
    L_VOLUME,
    ServiceSpec,
    build_spec,
    replicas_of,
    update_config,
)
from fleetdeck.server.stacks.plan import (
    DeployOutcome,
    DiscoveredStack,
    Plan,
    ServiceStatus,
    Strategy,
    TargetKind,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.compose import Project
    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.stacks.plan import DeployTarget, ProgressEvent

    LinkFor = Callable[[str, str | None], AgentLink]


def jobs_of(project: Project) -> set[str]:
    """Services others wait on to complete (``service_completed_successfully``)."""
    return {
        dep
        for svc in project.services.values()
        for dep, cond in svc.depends_on.items()
        if cond.condition == "service_completed_successfully"
    }


class HostApplier:
    """Applies Compose projects to one node of a plain-host environment.

    Args:
        link_for: ``(environment, node|None) → AgentLink`` (None: the environment's only node).
        hash_key: Key of the per-key config HMACs (derived from the master key).
        registry_auth: Credentials for an image's registry, if fleetdeck stores some.
    """

    def __init__(self, link_for: LinkFor, hash_key: bytes, registry_auth: RegistryAuth) -> None:
        self._link_for = link_for
        self._hash_key = hash_key
        self._auth = registry_auth

    def _node(self, target: DeployTarget) -> HostNode:
        return HostNode(self._link_for(target.environment, target.node))

    def _versions(self, target: DeployTarget) -> dict[str, str]:
        """A keyed hash per secret/config value: a new value changes the config hash."""
        versions: dict[str, str] = {}
        for key, value in target.secrets.items():
            name = key.partition(":")[2]
            versions[name] = hmac.new(self._hash_key, value, hashlib.sha256).hexdigest()[:12]
        return versions

    def specs(self, project: Project, target: DeployTarget) -> dict[str, ServiceSpec]:
        """The spec of every service (a scaled count wins over the file's)."""
        versions = self._versions(target)
        specs = {
            name: build_spec(project, name, secret_versions=versions, hash_key=self._hash_key)
            for name in project.services
        }
        for name, count in target.replicas.items():
            if name in specs:
                specs[name].replicas = count
        return specs

    async def _prepare(
        self, project: Project, target: DeployTarget
    ) -> tuple[HostNode, Observed, dict[str, ServiceSpec], dict[str, ImageChoice]]:
        node = self._node(target)
        observed = await node.observe(target.stack)
        specs = self.specs(project, target)
        images = await resolve_images(
            node, project, pinned=target.pinned_images, auth=self._auth, stack=target.stack
        )
        check_ports(specs, observed, await node.ports_in_use(), node.where)
        return node, observed, specs, images

    async def plan(self, project: Project, target: DeployTarget) -> Plan:
        """Compare the project with the node's containers; change nothing."""
        _, observed, specs, images = await self._prepare(project, target)
        jobs = jobs_of(project)
        plan = Plan(stack=target.stack, environment=target.environment)
        plan.image_users = image_users(project, images)
        for name in sorted(specs):
            change = plan_service(specs[name], images[name], observed.of(name), name in jobs)
            plan.changes.append(change)
        plan.changes.extend(plan_orphans(observed, project))
        return plan

    async def apply(
        self,
        project: Project,
        plan: Plan,
        target: DeployTarget,
        *,
        strategy: Strategy,
        progress: Callable[[ProgressEvent], Awaitable[None]],
    ) -> DeployOutcome:
        """Converge the node to the project; undo this deploy's changes on a failed gate."""
        node, observed, specs, images = await self._prepare(project, target)
        ctx = replica_context(target)
        rollout = Rollout(node, ctx, progress)
        if any(spec.files for spec in specs.values()):
            ctx.file_paths = await node.put_files(target.stack, dict(target.secrets))
        await self._resources(node, project, observed, rollout)
        images = await self._images(node, project, images, rollout, target)
        digests = {name: images[name].digest for name in specs}
        try:
            failures = await self._services(project, observed, specs, images, rollout, strategy)
        except HealthGateError as exc:
            # Said before the undo's lines, so a progress log shows why it undoes.
            await rollout.say("health", "failed", exc.message, exc.service, None)
            if exc.failure_action == "pause":
                await rollout.settle()
                message = f"{exc.message}; update paused (failure_action: pause), nothing undone"
                await rollout.say("done", "failed", message, exc.service, None)
                return DeployOutcome(False, message, False, digests)
            await rollout.undo(specs)
            message = f"{exc.message}; rolled back to the previous containers"
            return DeployOutcome(False, message, True, digests)
        for container in observed.containers:
            if container.service not in project.services:
                await node.remove(container.id)
                await rollout.say(
                    "remove", "ok", f"removed {container.name}", container.service, container.name
                )
        await rollout.commit()
        await node.prune_files(target.stack, sorted(ctx.file_paths.values()))
        if failures:
            message = "; ".join(failures) + (
                "; update continued (failure_action: continue): every replica was replaced, "
                "the failed ones run without the service name"
            )
            await rollout.say("done", "failed", message, None, None)
            return DeployOutcome(False, message, False, digests)
        await rollout.say("done", "ok", "stack converged and healthy", None, None)
        return DeployOutcome(True, "converged and healthy", False, digests)

    async def _resources(
        self, node: HostNode, project: Project, observed: Observed, rollout: Rollout
    ) -> None:
        have_nets = {n.get("Name") for n in observed.networks}
        for key, net in project.networks.items():
            if net.external or net.name in have_nets:
                continue
            body: dict[str, Any] = {
                "Name": net.name,
                "Driver": net.driver or "bridge",
                "Options": net.driver_opts,
                "Internal": bool(net.internal),
                "Attachable": bool(net.attachable),
                "EnableIPv6": bool(net.enable_ipv6),
                "Labels": {**net.labels, L_NETWORK: key, L_PROJECT: rollout.ctx.stack},
            }
            if net.ipam is not None and net.ipam.config:
                body["IPAM"] = {
                    "Driver": net.ipam.driver or "default",
                    "Config": [
                        {k: v for k, v in (("Subnet", p.subnet), ("IPRange", p.ip_range),
                                           ("Gateway", p.gateway)) if v}
                        for p in net.ipam.config
                    ],
                }  # fmt: skip
            try:
                await node.create_network(body)
            except ConflictError:
                continue  # made by an interrupted deploy, or by hand: use it
            await rollout.say("network", "ok", f"created network {net.name}", None, None)
        have_vols = {v.get("Name") for v in observed.volumes}
        for key, vol in project.volumes.items():
            if vol.external or vol.name in have_vols or vol.name is None:
                continue
            labels = {**vol.labels, L_VOLUME: key, L_PROJECT: rollout.ctx.stack}
            await node.create_volume(vol.name, vol.driver, labels)
            await rollout.say("volume", "ok", f"created volume {vol.name}", None, None)

    async def _images(
        self,
        node: HostNode,
        project: Project,
        images: dict[str, ImageChoice],
        rollout: Rollout,
        target: DeployTarget,
    ) -> dict[str, ImageChoice]:
        result = dict(images)

        async def pull(ref: str, services: list[str]) -> None:
            await rollout.say("pull", "started", f"pulling {ref}", services[0], None)
            await node.pull(ref, await self._auth(ref))
            await rollout.say("pull", "ok", f"pulled {ref}", services[0], None)

        wanted: dict[str, list[str]] = {}
        for name, choice in images.items():
            if choice.local_id is None and not choice.build:
                wanted.setdefault(choice.ref, []).append(name)
        await asyncio.gather(*(pull(ref, names) for ref, names in wanted.items()))
        for ref, names in wanted.items():
            local = await node.image(ref)
            for name in names:
                result[name] = ImageChoice(ref, result[name].digest, local["id"] if local else None)
        for name, choice in images.items():
            if choice.build:
                result[name] = await self._build(node, project, name, choice, rollout, target)
        return result

    async def _build(
        self,
        node: HostNode,
        project: Project,
        name: str,
        choice: ImageChoice,
        rollout: Rollout,
        target: DeployTarget,
    ) -> ImageChoice:
        build = project.services[name].build
        assert build is not None  # noqa: S101 - only services with a build get here
        if target.files is None:
            raise ConflictError(f"service {name!r}: no stack files to build from")
        await rollout.say("build", "started", f"building {choice.ref} on {node.where}", name, None)
        # Only the stack's own files go, whatever the context names (checked at load too).
        context, dockerfile = await asyncio.to_thread(
            target.files.context_tar, build, f"service {name!r}"
        )
        params = {k: v for k, v in (("dockerfile", dockerfile), ("target", build.target)) if v}
        if build.args:
            import json

            params["buildargs"] = json.dumps({k: v for k, v in build.args.items() if v is not None})
        image_id = await node.build(context, choice.ref, params)
        await rollout.say("build", "ok", f"built {choice.ref} ({image_id[:19]})", name, None)
        return ImageChoice(ref=image_id, digest=image_id, local_id=image_id, build=False)

    async def _services(
        self,
        project: Project,
        observed: Observed,
        specs: dict[str, ServiceSpec],
        images: dict[str, ImageChoice],
        rollout: Rollout,
        strategy: Strategy,
    ) -> list[str]:
        """Converge level by level; the replicas that failed under ``continue``.

        Raises:
            HealthGateError: A gate failed under ``rollback`` or ``pause`` (a rollback wins
                when services of one level failed with different actions: undo is safest).
        """
        jobs = jobs_of(project)
        failures: list[str] = []
        for level in startup_order(project):
            runs = [
                ServiceConvergence(
                    rollout,
                    specs[name],
                    images[name],
                    update_policy(specs[name], update_config(project.services[name]), strategy),
                    job=name in jobs,
                )
                for name in level
            ]
            results = await asyncio.gather(
                *(run.run(observed.of(run.spec.service)) for run in runs), return_exceptions=True
            )
            errors = [r for r in results if isinstance(r, BaseException)]
            gates = [e for e in errors if isinstance(e, HealthGateError)]
            if len(gates) < len(errors):
                raise next(e for e in errors if not isinstance(e, HealthGateError))
            if gates:
                raise min(gates, key=lambda e: e.failure_action != "rollback")
            failures.extend(message for run in runs for message in run.failures)
        return failures

    async def scale(
        self,
        project: Project,
        target: DeployTarget,
        service: str,
        *,
        progress: Callable[[ProgressEvent], Awaitable[None]],
    ) -> DeployOutcome:
        """Converge one service to its (scaled) replica count, as a deploy would.

        New replicas are created, gated and only then named (health-gated start); the ones
        no longer wanted leave the name, drain and stop (drained stop). The service's other
        containers are kept as they are, and so is every other service. From the containers
        observed now, so running it again after an interruption finishes the job. A failed
        gate removes what this scale created.
        """
        node, observed, specs, images = await self._prepare(project, target)
        ctx = replica_context(target)
        rollout = Rollout(node, ctx, progress)
        spec = specs[service]
        if spec.files:
            ctx.file_paths = await node.put_files(target.stack, dict(target.secrets))
        policy = update_policy(spec, update_config(project.services[service]), Strategy.auto)
        run = ServiceConvergence(rollout, spec, images[service], policy)
        try:
            await run.run(observed.of(service))
        except HealthGateError as exc:
            await rollout.say("health", "failed", exc.message, service, None)
            await rollout.undo(specs)
            return DeployOutcome(False, f"{exc.message}; the scale was undone", True)
        await rollout.commit()
        message = f"{service} runs {spec.replicas} replica(s)"
        await rollout.say("done", "ok", message, service, None)
        return DeployOutcome(True, message)

    async def remove(
        self,
        stack: str,
        target: DeployTarget,
        *,
        progress: Callable[[ProgressEvent], Awaitable[None]],
    ) -> None:
        """Remove the stack's containers and networks (named volumes are kept)."""
        node = self._node(target)
        observed = await node.observe(stack)
        rollout = Rollout(node, ReplicaContext(stack, 0, "", []), progress)
        await asyncio.gather(*(node.remove(c.id) for c in observed.containers))
        for c in observed.containers:
            await rollout.say("remove", "ok", f"removed {c.name}", c.service, c.name)
        for net in observed.networks:
            try:
                await node.remove_network(str(net.get("Name")))
            except FleetdeckError as exc:
                await rollout.say("remove", "failed", exc.message, None, None)
        await node.prune_files(stack, [])

    async def status(self, stack: str, target: DeployTarget) -> list[ServiceStatus]:
        """The stack's services as they run now (desired = containers that exist)."""
        observed = await self._node(target).observe(stack)
        result = []
        for name in sorted(observed.services):
            containers = observed.of(name)
            result.append(
                ServiceStatus(
                    service=name,
                    desired=len(containers),
                    running=sum(c.running for c in containers),
                    healthy=sum(c.running and c.health in (None, "healthy") for c in containers),
                    image=containers[0].image if containers else "",
                    image_ref=containers[0].image_ref if containers else "",
                    containers=[
                        {"id": c.id[:12], "name": c.name, "state": c.state, "health": c.health,
                         "image": c.image, "image_ref": c.image_ref, "number": c.number,
                         "revision": c.revision}
                        for c in containers
                    ],
                )
            )  # fmt: skip
        return result

    async def discover(self, target: DeployTarget) -> list[DiscoveredStack]:
        """Compose projects on the node, from the inventory's container labels."""
        link = self._link_for(target.environment, target.node)
        state = link.inventory.find_node(target.environment, link.node)
        if state is None:
            raise NotFoundError(f"no inventory for {link.where}")
        projects: dict[str, set[str]] = {}
        for container in state.containers.values():
            project = container.labels.get(L_PROJECT)
            if project:
                projects.setdefault(project, set()).add(container.labels.get(L_SERVICE, ""))
        return [
            DiscoveredStack(name, target.environment, TargetKind.host, sorted(svcs), False)
            for name, svcs in sorted(projects.items())
        ]


def replica_context(target: DeployTarget) -> ReplicaContext:
    """What every replica this deploy (or scale) creates is labelled with."""
    return ReplicaContext(
        stack=target.stack,
        revision=target.revision,
        working_dir=target.working_dir,
        config_files=list(target.config_files),
    )


def desired_replicas(project: Project) -> dict[str, int]:
    """Replicas per service."""
    return {name: replicas_of(svc) for name, svc in project.services.items()}
