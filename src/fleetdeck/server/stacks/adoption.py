"""Stacks fleetdeck did not deploy: found in the inventory, listed, and adopted on request.

Operators arrive with Compose projects already running (``docker compose up``,
``docker-compose up``, Portainer, Dockge) and Swarm stacks made by ``docker stack deploy``.
Both label what they make: containers carry ``com.docker.compose.project`` /
``com.docker.compose.service``, Swarm task containers ``com.docker.stack.namespace`` and
``com.docker.swarm.service.name``. The server already holds every container of the fleet in
memory (:class:`~fleetdeck.server.fleet.inventory.FleetInventory`), so discovery asks no
engine anything: it groups those containers by environment and project.

Adopting attaches the operator's Compose file(s) to such a project and stores it as a managed
stack, without touching a container. The next deploy finds the running containers by the
same project and service labels, so nothing is duplicated: a container whose config hash
fleetdeck made is kept when unchanged; one made by another tool (no
``io.fleetdeck.stack.revision`` label, so its ``config-hash`` is not fleetdeck's) is replaced
once, with the reason "adopted, config hash unknown", and from then on is fleetdeck's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.labels import (
    COMPOSE_CONFIG_FILES,
    COMPOSE_ONEOFF,
    COMPOSE_VERSION,
    COMPOSE_WORKING_DIR,
    FLEETDECK_REVISION,
    STACK_NAMESPACE,
    SWARM_SERVICE,
    service_of,
    stack_of,
)
from fleetdeck.server.fleet.inventory import MAX_LIMIT, ContainerQuery
from fleetdeck.server.stacks.files import check_files, check_stack_name
from fleetdeck.server.stacks.plan import Action, DiscoveredStack, TargetKind
from fleetdeck.server.stacks.service import Proposal

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.server.stacks.files import StackFile
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.wire.containers import Container


@dataclass
class FoundStack:
    """One unmanaged project as the inventory shows it (a ``GET /stacks`` entry)."""

    name: str
    environment: str
    kind: TargetKind
    services: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    containers: int = 0
    running: int = 0
    #: Running and not failing a healthcheck.
    healthy: int = 0
    #: Where the project came from, when its labels say (``docker-compose 1.29.2`` …).
    made_by: str | None = None
    config_files: str | None = None
    working_dir: str | None = None

    @property
    def status(self) -> str:
        """Running (all up and healthy), partial (some), stopped (none running)."""
        if self.containers and self.healthy == self.containers:
            return "running"
        return "partial" if self.running else "stopped"

    def to_discovered(self) -> DiscoveredStack:
        """The shared plan type for the same stack."""
        return DiscoveredStack(
            name=self.name,
            environment=self.environment,
            kind=self.kind,
            services=sorted(self.services),
            managed=False,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``GET /stacks`` entry (managed false, no revision) plus what discovery knows."""
        return {
            "name": self.name,
            "environment": self.environment,
            "kind": self.kind.value,
            "managed": False,
            "status": self.status,
            "services": len(self.services),
            "revision": None,
            "updated_at": None,
            "service_names": sorted(self.services),
            "nodes": sorted(self.nodes),
            "containers": self.containers,
            "made_by": self.made_by,
            "config_files": self.config_files,
            "working_dir": self.working_dir,
        }


def _identify(c: Container) -> tuple[str, TargetKind, str] | None:
    """(project, kind, service) of a container some stack made, else None."""
    labels = c.labels
    stack = stack_of(labels)
    if stack is None:
        return None
    if labels.get(STACK_NAMESPACE) == stack:
        service = labels.get(SWARM_SERVICE, c.service or "")
        return stack, TargetKind.swarm, service.removeprefix(f"{stack}_") or "?"
    if labels.get(COMPOSE_ONEOFF, "False") != "True":
        return stack, TargetKind.host, service_of(labels) or "?"
    return None


def discover(
    containers: Iterable[Container], managed: Iterable[tuple[str, str]] = ()
) -> list[FoundStack]:
    """Group labelled containers into stacks, leaving out the managed ones.

    Args:
        containers: Every container of the fleet (the inventory's view).
        managed: ``(environment, name)`` of the stacks fleetdeck manages: their containers
            are fleetdeck's own and are not offered for adoption.

    Returns:
        The unmanaged stacks, by environment then name. ``docker compose run`` one-off
        containers are not part of a project's services and are skipped.
    """
    skip = set(managed)
    found: dict[tuple[str, str], FoundStack] = {}
    for c in containers:
        ident = _identify(c)
        if ident is None:
            continue
        name, kind, service = ident
        key = (c.environment, name)
        if key in skip:
            continue
        stack = found.get(key)
        if stack is None:
            stack = found[key] = FoundStack(name=name, environment=c.environment, kind=kind)
        stack.services.add(service)
        stack.nodes.add(c.node)
        stack.containers += 1
        stack.running += c.state == "running"
        stack.healthy += c.state == "running" and c.health in (None, "healthy")
        _note_origin(stack, c.labels)
    return [found[key] for key in sorted(found)]


def _note_origin(stack: FoundStack, labels: dict[str, str]) -> None:
    if stack.made_by is None:
        if FLEETDECK_REVISION in labels:
            stack.made_by = "fleetdeck (no longer in its store)"
        elif COMPOSE_VERSION in labels:
            stack.made_by = f"docker compose {labels[COMPOSE_VERSION]}"
        elif STACK_NAMESPACE in labels:
            stack.made_by = "docker stack deploy"
    stack.config_files = stack.config_files or labels.get(COMPOSE_CONFIG_FILES)
    stack.working_dir = stack.working_dir or labels.get(COMPOSE_WORKING_DIR)


def find_unmanaged(
    containers: Iterable[Container],
    name: str,
    environment: str,
    managed: Iterable[tuple[str, str]] = (),
) -> FoundStack:
    """The unmanaged stack ``name`` on ``environment``, for adoption.

    Raises:
        ConflictError: fleetdeck already manages a stack of that name there.
        NotFoundError: nothing labelled with that project runs there.
    """
    if (environment, name) in set(managed):
        raise ConflictError(
            f"stack {name!r} on {environment!r} is already managed by fleetdeck",
            hint=f"deploy it instead: fleetdeck stack deploy {name} -f FILE --env {environment}",
        )
    for stack in discover(containers):
        if stack.name == name and stack.environment == environment:
            return stack
    others = sorted({s.environment for s in discover(containers) if s.name == name})
    hint = (
        f"it runs on: {', '.join(others)}"
        if others
        else "list what can be adopted with: fleetdeck stack ls"
    )
    raise NotFoundError(
        f"no Compose project or Swarm stack {name!r} runs on environment {environment!r}",
        hint=hint,
    )


def adoption_warnings(found: FoundStack, file_services: Iterable[str]) -> list[str]:
    """What the operator should know before the first deploy of an adopted stack.

    Services that run but are missing from the file would be removed as orphans by the next
    deploy; services only in the file would be created.
    """
    declared = set(file_services)
    warnings = [
        f"service {svc!r} runs but is not in the file: the next deploy removes it"
        for svc in sorted(found.services - declared)
    ]
    warnings += [
        f"service {svc!r} is in the file but not running: the next deploy creates it"
        for svc in sorted(declared - found.services)
    ]
    return warnings


def fleet_containers(service: StackService) -> list[Container]:
    """Every container of the fleet as the inventory holds it now."""
    query = ContainerQuery(limit=MAX_LIMIT)
    return service.fleet.inventory.containers(query)[0]


async def managed_keys(service: StackService) -> set[tuple[str, str]]:
    """``(environment, name)`` of every stack fleetdeck manages (has files for)."""
    return {(row.environment, row.name) for row in await service.repo.all() if row.files}


async def adopt_stack(
    service: StackService,
    name: str,
    environment: str,
    files: list[StackFile],
    env_file: str | None,
) -> list[str]:
    """Attach ``files`` to the unmanaged stack ``name`` on ``environment``; change no container.

    The files are checked as a deploy would check them (a plan is computed, so bad YAML, an
    unknown key, a missing variable or image fails here) before the definition is stored.

    Returns:
        Warnings about services that run but are not in the files, or the other way round.

    Raises:
        NotFoundError: Nothing labelled with that project runs on the environment.
        ConflictError: fleetdeck already manages it, or a stored stack of that name exists.
        InvalidInputError: The files are not a valid stack.
    """
    check_stack_name(name)
    service.fleet.require_environment(environment)
    found = find_unmanaged(
        fleet_containers(service), name, environment, await managed_keys(service)
    )
    existing = await service.repo.find(name)
    if existing is not None and existing.files:
        raise ConflictError(
            f"a stack called {name!r} is already managed on {existing.environment!r}",
            hint="stack names are unique across the fleet: remove that one first",
        )
    kind = service.kind_of(environment)
    if kind is not found.kind:
        raise ConflictError(
            f"{name!r} runs as a {found.kind.value} stack but {environment!r} is a {kind.value}",
        )
    proposal = Proposal(environment=environment, files=check_files(files), env_file=env_file)
    plan = await service.plan(name, proposal)
    await service.repo.save(name, environment, kind.value, proposal.files or [], env_file)
    services = [c.service for c in plan.changes if c.action is not Action.remove]
    return adoption_warnings(found, services)
