"""The stack deploy contract: what a plan is, what an applier does, what progress looks like.

Two appliers implement :class:`StackApplier`: one for a plain Docker host (containers through
the agent, Compose-compatible labels, health-gated rolling updates) and one for a Swarm
(services, overlay networks, secrets and configs through a manager's agent). The stack service
picks one by the environment's kind, asks it for a :class:`Plan` (``stack diff``), adds the
hardening findings, and applies it while streaming :class:`ProgressEvent` objects to the API,
the CLI and the UI. Everything here is plain data so that it can be stored with a revision and
sent as JSON unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.compose import Project
    from fleetdeck.compose.files import StackFileSet


class Action(StrEnum):
    """What a deploy does to one service (the ``action`` of ``stack diff -o json``)."""

    create = "create"
    recreate = "recreate"
    scale = "scale"
    remove = "remove"
    unchanged = "unchanged"


class Strategy(StrEnum):
    """How replicas are replaced (``stack deploy --strategy``).

    ``auto`` follows the service's ``deploy.update_config.order`` and falls back to stop-first
    where a fixed published host port makes two replicas impossible at once.
    """

    auto = "auto"
    start_first = "start-first"
    stop_first = "stop-first"


class TargetKind(StrEnum):
    """The kind of environment a stack is deployed to."""

    host = "host"
    swarm = "swarm"


@dataclass(frozen=True)
class Change:
    """One service's planned change.

    ``reason`` is for people ("image digest changed: sha256:ab… → sha256:cd…", "config
    changed: environment.LOG_LEVEL, ports"); ``detail`` holds the machine-readable part
    (changed keys, replica counts). Secret values never appear in either: they are masked as
    ``***`` before a change is built.
    """

    service: str
    action: Action
    reason: str
    replicas_before: int = 0
    replicas_after: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The change as JSON (``service``, ``action``, ``reason`` + the rest)."""
        data = asdict(self)
        data["action"] = self.action.value
        return data


@dataclass(frozen=True)
class Finding:
    """One hardening finding about the model (privileged, docker socket mount, ``latest``…)."""

    rule: str
    service: str
    message: str
    blocking: bool = False

    def to_json(self) -> dict[str, Any]:
        """The finding as JSON."""
        return asdict(self)


@dataclass
class Plan:
    """What applying a project to a target would do, service by service.

    ``notes`` carries facts about the target that change how the stack runs, e.g. "the
    routing mesh is unavailable on this Swarm: ports are published in host mode".
    ``image_users`` is the ``USER`` each image sets (``""``: none), by the image reference the
    file names, for the images the applier inspected on the node; None when it inspects none.
    The hardening report's ``root-user`` rule reads it.
    """

    stack: str
    environment: str
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    image_users: dict[str, str] | None = None
    #: ``[{name, source, services}]``: each variable the files use and where its value came
    #: from (``shell``, ``stored``, ``env_file``, ``default``); never a value.
    variables: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_noop(self) -> bool:
        """True when every service is unchanged (re-applying changes nothing)."""
        return all(change.action is Action.unchanged for change in self.changes)

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON."""
        return {
            "stack": self.stack,
            "environment": self.environment,
            "changes": [change.to_json() for change in self.changes],
            "findings": [finding.to_json() for finding in self.findings],
            "notes": list(self.notes),
            "image_users": self.image_users,
            "variables": list(self.variables),
        }


@dataclass(frozen=True)
class DeployTarget:
    """Where and with what a project is applied.

    Attributes:
        stack: The stack (= Compose project) name.
        environment: The environment's name.
        kind: Plain host or Swarm.
        node: For a host target, the node whose engine runs the containers.
        secrets: Secret values by the project's secret key, decrypted just for this deploy
            (delivered as Swarm secrets, or as read-only files on a plain host). Never logged.
        pinned_images: Service → ``repo@sha256:…``: use exactly these images (a rollback
            restores the digests its revision recorded).
        revision: The revision this deploy creates (labels ``io.fleetdeck.stack.revision``).
        working_dir: Where the stack's files are on the server (Compose's working_dir label).
        config_files: The stack's Compose files there (Compose's config_files label).
        files: The stack's own files (build contexts are tarred from these, never from disk).
        replicas: Service → replica count set by ``fleetdeck scale`` or the autoscaler,
            which wins over the file's count (see :mod:`fleetdeck.server.stacks.scaling`).
        redeploy: Services sent again even when their spec looks unchanged (a drift revert:
            a hand-made change keeps fleetdeck's fingerprint label, see
            :mod:`fleetdeck.server.drift.detect`). Swarm only: a host plan sees drift itself.

    ``secrets`` keys are ``secret:NAME`` / ``config:NAME`` (the project's top-level names).
    """

    stack: str
    environment: str
    kind: TargetKind
    node: str | None = None
    secrets: dict[str, bytes] = field(default_factory=dict, repr=False)
    pinned_images: dict[str, str] = field(default_factory=dict)
    revision: int = 0
    working_dir: str = ""
    config_files: tuple[str, ...] = ()
    files: StackFileSet | None = field(default=None, repr=False)
    replicas: dict[str, int] = field(default_factory=dict)
    redeploy: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a deploy, streamed as it happens (one NDJSON line on the API stream).

    ``step`` is one of: plan, pull, build, network, volume, secret, create, start, health,
    stop, remove, scale, rollback, done. ``status`` is started, ok, failed or info.

    In a rolling update an old replica and its replacement can carry the same name one after
    the other (the old one is renamed ``<id12>_NAME`` when it retires, freeing its number), so
    an event about a replica also says which it is: ``replica`` is ``new`` or ``old``,
    ``container_id`` its short id (once it has one) and ``replaces`` the short id of the old
    replica a new one takes over from. All three are None for events about no one replica.
    """

    stack: str
    step: str
    status: str
    message: str
    service: str | None = None
    container: str | None = None
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    replica: str | None = None
    container_id: str | None = None
    replaces: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The event as JSON (time as ISO 8601)."""
        data = asdict(self)
        data["time"] = self.time.isoformat()
        return data


@dataclass
class DeployOutcome:
    """How an apply ended.

    ``ok`` is True only when every service converged and is healthy. ``rolled_back`` says a
    failed health gate made the applier restore the previous state (``message`` says why).
    ``image_digests`` maps each service to the ``repo@sha256:…`` it now runs, for the revision.
    """

    ok: bool
    message: str
    rolled_back: bool = False
    image_digests: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceStatus:
    """One service of a deployed stack as it runs now (``stack ps``)."""

    service: str
    desired: int
    running: int
    healthy: int
    image: str
    containers: list[dict[str, Any]] = field(default_factory=list)
    #: ``image`` as the Compose file wrote it (``image`` may be a pinned ``repo@sha256:…``).
    image_ref: str = ""


@dataclass(frozen=True)
class DiscoveredStack:
    """A Compose project or Swarm stack found running on a target (for ``stack adopt``)."""

    name: str
    environment: str
    kind: TargetKind
    services: list[str]
    managed: bool


class StackApplier(Protocol):
    """Turns a Compose project into running containers or services on one kind of target."""

    async def plan(self, project: Project, target: DeployTarget) -> Plan:
        """Compare the project with what runs on the target; change nothing."""
        ...

    async def apply(
        self,
        project: Project,
        plan: Plan,
        target: DeployTarget,
        *,
        strategy: Strategy,
        progress: Callable[[ProgressEvent], Awaitable[None]],
    ) -> DeployOutcome:
        """Carry out ``plan``; on a failed health gate restore the previous state."""
        ...

    async def remove(
        self,
        stack: str,
        target: DeployTarget,
        *,
        progress: Callable[[ProgressEvent], Awaitable[None]],
    ) -> None:
        """Remove everything the stack made on the target (not named volumes)."""
        ...

    async def status(self, stack: str, target: DeployTarget) -> list[ServiceStatus]:
        """The stack's services as they run now."""
        ...

    async def discover(self, target: DeployTarget) -> list[DiscoveredStack]:
        """Compose projects / Swarm stacks running on the target (``target.stack`` unused)."""
        ...
