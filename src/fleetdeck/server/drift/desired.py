"""The desired state of a stack: its deployed revision, loaded as a deploy would load it.

The revision's own files, variables (secrets opened just to hash them, never kept) and the
scaled counts give, per service, the config hash and per-key hashes a plain host's containers
must carry, the replica count, and the image the file names. Loading parses YAML, so the
result is cached by (stack, revision, scaled counts): a sweep re-uses it and calls no engine.
The drift policy of the Compose files (``x-fleetdeck: {drift: revert}``) is read here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck import safeyaml
from fleetdeck.compose.variables import environment as variable_environment
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.stacks.files import compose_files
from fleetdeck.server.stacks.host.spec import replicas_of
from fleetdeck.server.stacks.plan import DeployTarget, TargetKind
from fleetdeck.server.stacks.repository import SHELL_SOURCE, Variable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.server.stacks.files import StackFile
    from fleetdeck.server.stacks.service import StackService
    from fleetdeck.server.store.models_stacks import StackDefinition

POLICIES = ("notify", "revert")
EXTENSION, KEY = "x-fleetdeck", "drift"


@dataclass(frozen=True)
class DesiredService:
    """One service as the deployed revision wants it (``replicas`` None: global)."""

    replicas: int | None
    image: str = ""
    config_hash: str = ""
    key_hashes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DesiredStack:
    """A stack's deployed revision, per service, and its Compose drift policy (None: unset)."""

    stack: str
    environment: str
    kind: TargetKind
    revision: int
    services: dict[str, DesiredService]
    compose_policy: str | None = None


def compose_policy(files: Iterable[tuple[str, str]]) -> str | None:
    """``x-fleetdeck.drift`` of the files (a later file wins), or None.

    Raises:
        InvalidInputError: a value other than ``notify`` or ``revert``, naming the file.
    """
    found: str | None = None
    for name, text in files:
        data = safeyaml.load(text, name=name)
        extension = data.get(EXTENSION) if isinstance(data, dict) else None
        if not isinstance(extension, dict) or KEY not in extension:
            continue
        value = extension[KEY]
        if value not in POLICIES:
            raise InvalidInputError(
                f"{name}: {EXTENSION}.{KEY} must be one of {', '.join(POLICIES)}, not {value!r}"
            )
        found = str(value)
    return found


class DesiredCache:
    """Desired states by (stack, revision, scaled counts)."""

    def __init__(self, stacks: StackService) -> None:
        self.stacks = stacks
        self._cache: dict[tuple[str, int, str], DesiredStack] = {}

    async def of(self, stored: StackDefinition) -> DesiredStack:
        """The desired state of a deployed stack (``stored.revision`` set)."""
        assert stored.revision is not None  # noqa: S101 - the watcher skips undeployed stacks
        scales = self.stacks.scales
        counts = (
            sorted((r.service, r.replicas) for r in await scales.of_stack(stored.name))
            if scales is not None
            else []
        )
        key = (stored.name, stored.revision, repr(counts))
        cached = self._cache.get(key)
        if cached is None:
            for old in [k for k in self._cache if k[0] == stored.name]:
                del self._cache[old]
            cached = self._cache[key] = await self._load(stored)
        return cached

    def forget(self, stack: str) -> None:
        """Drop a stack's cached states (it was removed)."""
        for old in [k for k in self._cache if k[0] == stack]:
            del self._cache[old]

    async def _load(self, stored: StackDefinition) -> DesiredStack:
        stacks, name = self.stacks, stored.name
        assert stored.revision is not None  # noqa: S101 - see of()
        row = await stacks.repo.revision(stored, stored.revision)
        files = await stacks.repo.files(name, row.files)
        variables = [Variable.from_revision(v) for v in row.variables]
        shell = stacks.repo.opened(name, [v for v in variables if v.source == SHELL_SOURCE])
        kept = stacks.repo.opened(name, [v for v in variables if v.source != SHELL_SOURCE])
        kind = TargetKind(stored.kind)
        project, secrets, _ = await stacks.load_off_loop(
            name, files, row.env_file, variable_environment(shell, kept),
            swarm=kind is TargetKind.swarm,
        )  # fmt: skip
        counts = await stacks.scaled_counts(name, project, drop_stale=False)
        target = DeployTarget(
            stack=name, environment=stored.environment, kind=kind, secrets=secrets,
            replicas=counts,
        )  # fmt: skip
        services: dict[str, DesiredService] = {}
        if kind is TargetKind.host:
            for service, spec in stacks.host.specs(project, target).items():
                image = project.services[service].image or ""
                services[service] = DesiredService(
                    spec.replicas, image, spec.config_hash, dict(spec.key_hashes)
                )
        else:
            for service, svc in project.services.items():
                mode = svc.deploy.mode if svc.deploy is not None else None
                count = (
                    None
                    if mode in ("global", "global-job")
                    else counts.get(service, replicas_of(svc))
                )
                services[service] = DesiredService(count, svc.image or "")
        return DesiredStack(
            name, stored.environment, kind, stored.revision, services, _policy_of(files)
        )


def _policy_of(files: list[StackFile]) -> str | None:
    wanted = set(compose_files(files))
    return compose_policy((f.name, f.text) for f in files if f.name in wanted and f.text)


def describe(desired: DesiredStack) -> dict[str, Any]:
    """What the desired state is, for the API (no hashes)."""
    return {
        name: {"replicas": s.replicas, "image": s.image} for name, s in desired.services.items()
    }
