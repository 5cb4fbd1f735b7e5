"""The stack service (``ServerContext.stacks``): definitions, variables, deploys, revisions.

Every other stacks part plugs in here: the API routes call it; the appliers
(:class:`~fleetdeck.server.stacks.host.applier.HostApplier` for plain hosts, the Swarm
applier for Swarm environments) are picked by the environment's kind. A deploy is prepared
(validated, planned, hardening checked) before anything changes, then runs as a
:class:`~fleetdeck.server.stacks.deploy.DeployRun` that stores a revision with its result.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.compose.variables import environment as variable_environment
from fleetdeck.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from fleetdeck.server.fleet.hub import DeployFinished
from fleetdeck.server.fleet.service import pick_node_link
from fleetdeck.server.stacks import files as stack_files
from fleetdeck.server.stacks.allowances import Scope
from fleetdeck.server.stacks.deploy import DeployRun
from fleetdeck.server.stacks.hardening import DANGEROUS, RULES, findings
from fleetdeck.server.stacks.host.applier import HostApplier
from fleetdeck.server.stacks.plan import DeployTarget, Strategy, TargetKind
from fleetdeck.server.stacks.repository import SHELL_SOURCE, StackRepository, Variable
from fleetdeck.server.stacks.scaling import effective_counts
from fleetdeck.server.stacks.service_support import (
    collect_files,
    revision_json,
    secrets_masked,
    variable_report,
)
from fleetdeck.server.stacks.swarm.applier import SwarmApplier
from fleetdeck.server.store.models_stacks import StackRevision

if TYPE_CHECKING:
    from collections.abc import Callable, Collection
    from pathlib import Path

    from fleetdeck.compose import Project
    from fleetdeck.compose.files import StackFileSet
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.stacks.allowances import AllowanceRepository
    from fleetdeck.server.stacks.files import StackFile
    from fleetdeck.server.stacks.plan import DeployOutcome, Plan, StackApplier
    from fleetdeck.server.stacks.scaling import Scaler, ScaleRepository
    from fleetdeck.server.store.models_stacks import StackDefinition

log = logging.getLogger("fleetdeck.server.stacks")
VAR_KEY_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass
class Proposal:
    """Files (and where) a request brings instead of the stored definition."""

    environment: str | None = None
    files: list[StackFile] | None = None
    env_file: str | None = None
    #: Values from the deploying command's shell (only those its files use): they win over
    #: the stored variables for this deploy (see :mod:`fleetdeck.compose.variables`).
    shell: dict[str, str] = field(default_factory=dict)


def check_variable_key(key: str) -> str:
    """A variable name as Compose interpolates it."""
    if not key or key[0].isdigit() or not set(key) <= VAR_KEY_CHARS or len(key) > 128:
        raise InvalidInputError(f"invalid variable name {key!r}", hint="use letters, digits and _")
    return key


class StackService:
    """Stacks of one server.

    Args:
        repo: The stack tables.
        fleet: Environments, links and inventory.
        data_dir: The server's data dir (``stacks/NAME`` is a stack's working_dir label;
            nothing of a stack is written or read there).
        master_key: The master key (a config-hash key is derived from it).
        blocking_rules: Hardening rules that block a deploy.
        registry_auth: ``async (image) -> credentials | None``.
        on_outcome: Called with (stack, environment, ok, message, revision) after every
            deploy (revision: the one deployed, or that runs when nothing changed).
        allowances: Admins' allowances of dangerous rules; None: nothing is allowed.
        scales: Scaled replica counts (``fleetdeck scale``, the autoscaler); None: none.
    """

    def __init__(
        self,
        repo: StackRepository,
        fleet: Fleet,
        data_dir: Path,
        master_key: bytes,
        blocking_rules: list[str],
        registry_auth: Any,
        on_outcome: Any = None,
        allowances: AllowanceRepository | None = None,
        scales: ScaleRepository | None = None,
    ) -> None:
        unknown = sorted(set(blocking_rules) - set(RULES))
        if unknown:
            raise InvalidInputError(
                f"unknown hardening rule(s) in stacks_blocking_rules: {', '.join(unknown)}",
                hint=f"rules: {', '.join(RULES)}",
            )
        self.repo = repo
        self.fleet = fleet
        self.data_dir = data_dir
        self.blocking = set(blocking_rules)
        self.on_outcome = on_outcome
        self.allowances = allowances
        self.scales = scales
        #: Sets services' replica counts (``fleetdeck scale``, the autoscaler); set by
        #: :func:`fleetdeck.server.stacks.start`.
        self.scaler: Scaler | None = None
        #: A stack's drift state (``in_sync``, ``drifted``…) for the listing; set by
        #: :func:`fleetdeck.server.drift.start`.
        self.drift_state: Callable[[str], str] | None = None
        hash_key = hashlib.sha256(b"fleetdeck stack config hash\0" + master_key).digest()
        self._hash_key = hash_key
        self.host = HostApplier(self._link_for, hash_key, registry_auth)
        self._registry_auth = registry_auth
        self._swarm: SwarmApplier | None = None
        self._locks: dict[str, asyncio.Lock] = {}

    async def compose_texts(self, name: str) -> list[tuple[str, str]]:
        """``(file name, text)`` of a stored stack's Compose files (none for no such stack).

        For the parts that read ``x-fleetdeck`` policies from the files themselves.
        """
        stored = await self.repo.find(name)
        if stored is None or not stored.files:
            return []
        files = await self.repo.files(name, stored.files)
        wanted = set(stack_files.compose_files(files))
        return [(f.name, f.text) for f in files if f.name in wanted and f.text is not None]

    async def scaled_counts(
        self, name: str, project: Project, *, drop_stale: bool
    ) -> dict[str, int]:
        """The scaled counts that win over ``project``'s (see :mod:`.scaling`).

        ``drop_stale``: forget the counts whose file count changed (a deploy does; a diff
        only shows what a deploy would do).
        """
        if self.scales is None:
            return {}
        wins, stale = effective_counts(await self.scales.of_stack(name), project)
        if stale and drop_stale:
            await self.scales.drop(name, [row.service for row in stale])
        return wins

    # ------------------------------------------------------------------ targets
    def _link_for(self, environment: str, node: str | None) -> Any:
        return pick_node_link(self.fleet, environment, node)

    def kind_of(self, environment: str) -> TargetKind:
        """Swarm when a node of the environment is in an active Swarm, else host."""
        self.fleet.require_environment(environment)
        for state in self.fleet.inventory.nodes(environment):
            if state.info is not None and state.info.swarm.state == "active":
                return TargetKind.swarm
        return TargetKind.host

    def applier(self, kind: TargetKind) -> StackApplier:
        """The applier for a kind of environment."""
        if kind is TargetKind.host:
            return self.host
        if self._swarm is None:
            self._swarm = SwarmApplier.for_fleet(
                self.fleet, hash_key=self._hash_key, registry_auth=self._registry_auth
            )
        applier: StackApplier = self._swarm
        return applier

    # ------------------------------------------------------------------ loading
    def stack_dir(self, name: str) -> Path:
        """The directory a stack's files are addressed under (a name only: never opened)."""
        return self.data_dir / "stacks" / stack_files.check_stack_name(name)

    async def _definition(
        self, name: str, proposal: Proposal | None
    ) -> tuple[StackDefinition | None, str, list[StackFile], str | None]:
        stored = await self.repo.find(stack_files.check_stack_name(name))
        proposal = proposal or Proposal()
        if proposal.files is None and (stored is None or not stored.files):
            raise NotFoundError(f"no stack {name!r}", hint="give its files (stack deploy -f FILE)")
        environment = proposal.environment or (stored.environment if stored else None)
        if not environment:
            raise InvalidInputError("say which environment the stack goes to (--env)")
        if proposal.files is not None:
            files, env_file = stack_files.check_files(proposal.files), proposal.env_file
        else:
            assert stored is not None  # noqa: S101 - checked above
            files = await self.repo.files(stored.name, stored.files)
            env_file = stored.env_file
        self.fleet.require_environment(environment)
        return stored, environment, files, env_file

    async def _variables(self, stored: StackDefinition | None) -> list[Variable]:
        return await self.repo.variables(stored) if stored is not None else []

    def load(
        self, name: str, files: list[StackFile], env_file: str | None,
        values: dict[str, str], *, swarm: bool = False,
    ) -> tuple[Project, dict[str, bytes], StackFileSet]:  # fmt: skip
        """Load a project from the stack's own files; gather its secret/config contents.

        A secret's ``environment: VAR`` reads the same variables as ``${VAR}`` does: the
        stack's (and the shell's) over its env file.
        """
        root = self.stack_dir(name)
        project, fileset = stack_files.load(root, name, files, env_file, values)
        resolved = {**stack_files.env_file_values(fileset, root, env_file, values), **values}
        secrets = collect_files(project, fileset, resolved, swarm=swarm, stack=name)
        return project, secrets, fileset

    async def load_off_loop(
        self, name: str, files: list[StackFile], env_file: str | None,
        values: dict[str, str], *, swarm: bool = False,
    ) -> tuple[Project, dict[str, bytes], StackFileSet]:  # fmt: skip
        """:meth:`load` in a worker thread: parsing YAML takes CPU and must not stall the loop.

        The YAML limits (:mod:`fleetdeck.safeyaml`) bound how long one parse takes; the
        thread keeps every other request answering meanwhile.
        """
        return await asyncio.to_thread(self.load, name, files, env_file, values, swarm=swarm)

    # ------------------------------------------------------------------ reading
    async def validate(
        self,
        files: list[StackFile],
        env_file: str | None,
        variables: dict[str, str],
        stack: str | None = None,
    ) -> dict[str, Any]:
        """Check files as the editor types them; changes nothing.

        With ``stack``, the stack's stored variables count as they will in a deploy (the
        given ``variables`` win). A stored secret is checked for being set, never read: it
        takes a stand-in value, so nothing a viewer validates can show it.
        """
        name = stack_files.check_stack_name(stack) if stack else "validate"
        stored = await self.repo.find(name) if stack else None
        known = secrets_masked(await self._variables(stored))
        try:
            project, _, _ = await self.load_off_loop(name, files, env_file, known | variables)
        except InvalidInputError as exc:
            return {"ok": False, "errors": [_located(exc.message) | {"hint": exc.hint}]}
        return {
            "ok": True,
            "services": sorted(project.services),
            "warnings": list(project.warnings),
            "project": project.to_data(),
        }

    async def refused(self, name: str, environment: str, *, admin: bool) -> set[str]:
        """Dangerous rules that block a deploy of ``name`` by this principal (none: admin)."""
        if admin:
            return set()
        if self.allowances is None:
            return set(DANGEROUS)
        return await self.allowances.refused(name, environment, admin=admin)

    async def _judge(
        self, plan: Plan, project: Project, name: str, environment: str, *, admin: bool
    ) -> set[str]:
        """Set the plan's hardening findings for this principal; return the refused rules."""
        refused = await self.refused(name, environment, admin=admin)
        plan.findings = findings(
            project, self.blocking, plan.image_users, refused=refused,
            guarded=(str(self.data_dir), str(self.stack_dir(name))),
        )  # fmt: skip
        return refused

    async def plan(self, name: str, proposal: Proposal | None, *, admin: bool = False) -> Plan:
        """What a deploy would change (``stack diff``), with hardening findings.

        ``admin``: whether the principal asking is an admin (dangerous findings then do not
        block); for anyone else they block unless allowed for the stack or environment.
        """
        stored, environment, files, env_file = await self._definition(name, proposal)
        shell = proposal.shell if proposal else {}
        values = self.repo.opened(name, await self._variables(stored))
        kind = self.kind_of(environment)
        project, secrets, fileset = await self.load_off_loop(
            name, files, env_file, variable_environment(shell, values),
            swarm=kind is TargetKind.swarm,
        )  # fmt: skip
        report = variable_report(fileset, files, env_file, shell, values)
        target = DeployTarget(
            stack=name,
            environment=environment,
            kind=kind,
            secrets=secrets,
            files=fileset,
            replicas=await self.scaled_counts(name, project, drop_stale=False),
        )
        plan = await self.applier(kind).plan(project, target)
        await self._judge(plan, project, name, environment, admin=admin)
        plan.variables = report
        return plan

    # ------------------------------------------------------------------ deploys
    def lock(self, name: str) -> asyncio.Lock:
        """One deploy at a time per stack."""
        return self._locks.setdefault(name, asyncio.Lock())

    def deploying(self, name: str) -> bool:
        """Whether a deploy (or rollback) of ``name`` runs now: auto-heal holds off meanwhile."""
        lock = self._locks.get(name)
        return lock is not None and lock.locked()

    async def prepare(
        self,
        name: str,
        actor: str,
        proposal: Proposal | None,
        strategy: Strategy,
        *,
        pinned: dict[str, str] | None = None,
        variables: list[Variable] | None = None,
        restores: int | None = None,
        admin: bool = False,
    ) -> DeployRun:
        """Validate and plan a deploy; store the definition and a new revision.

        ``restores`` is the revision a rollback deploys again (its message says so);
        ``admin`` whether the deploying principal is an admin (see :meth:`plan`).

        Raises:
            FleetdeckError: Anything wrong is reported here, before anything changes.
        """
        stored, environment, files, env_file = await self._definition(name, proposal)
        kind = self.kind_of(environment)
        if stored is not None and stored.files and stored.environment != environment:
            raise ConflictError(
                f"stack {name!r} runs in environment {stored.environment!r}",
                hint="remove it there first (stack rm) to move it",
            )
        chosen = variables if variables is not None else await self._variables(stored)
        shell = proposal.shell if proposal else {}
        values = variable_environment(shell, self.repo.opened(name, chosen))
        directory = self.stack_dir(name)
        project, secrets, fileset = await self.load_off_loop(
            name, files, env_file, values, swarm=kind is TargetKind.swarm
        )
        report = variable_report(fileset, files, env_file, shell, self.repo.opened(name, chosen))
        target = DeployTarget(
            stack=name, environment=environment, kind=kind, secrets=secrets, files=fileset,
            pinned_images=dict(pinned or {}), working_dir=str(directory),
            config_files=tuple(str(directory / f) for f in stack_files.compose_files(files)),
            replicas=await self.scaled_counts(name, project, drop_stale=True),
        )  # fmt: skip
        applier = self.applier(kind)
        plan = await applier.plan(project, target)  # changes nothing on the node
        refused = await self._judge(plan, project, name, environment, admin=admin)
        plan.variables = report
        refuse_blocked(plan, name, environment, allowable=refused - self.blocking)
        revision_vars = chosen + self.repo.sealed_shell(name, shell)
        content = self._content(name, files, env_file, revision_vars)
        if plan.is_noop and stored is not None and stored.revision is not None:
            running = await self.repo.revision(stored, stored.revision)
            if self._content(name, running.files, running.env_file, _vars(running)) == content:
                # Nothing changes and nothing differs: no new revision (a rollback would
                # otherwise "go back" to an identical one).
                stored = await self.repo.save(name, environment, kind.value, files, env_file)
                target = DeployTarget(**{**target.__dict__, "revision": stored.revision})
                return DeployRun(
                    name, project, plan, target, applier, strategy,
                    self._unchanged(stored, stored.revision),
                )  # fmt: skip
        stored = await self.repo.save(name, environment, kind.value, files, env_file)
        if variables is not None:
            await self.repo.replace_variables(stored, variables)
        number = await self.repo.next_revision(stored)
        changes = {c.service: c.action.value for c in plan.changes if c.action.value != "unchanged"}
        await self.repo.add_revision(
            stored,
            StackRevision(
                revision=number, actor=actor, environment=environment, strategy=strategy.value,
                env_file=env_file, variables=[v.to_revision() for v in revision_vars],
                image_digests={}, changes=changes,
            ),
            files,
        )  # fmt: skip
        await self.repo.set_status(name, "deploying", f"revision {number}", None)
        target = DeployTarget(**{**target.__dict__, "revision": number})
        return DeployRun(
            name, project, plan, target, applier, strategy,
            self._finisher(stored, number, restores, restored_variables=variables is not None),
        )  # fmt: skip

    def _content(
        self, name: str, files: list[Any], env_file: str | None, variables: list[Variable]
    ) -> str:
        """A digest of what a deploy uses: file contents, env file, variable values."""
        refs = sorted((f.name, f.sha256) if not isinstance(f, dict) else (f["name"], f["sha256"])
                      for f in files)  # fmt: skip
        stored = [v for v in variables if v.source != SHELL_SOURCE]
        shell = [v for v in variables if v.source == SHELL_SOURCE]
        data = [refs, env_file, sorted(self.repo.opened(name, stored).items()),
                sorted(self.repo.opened(name, shell).items())]  # fmt: skip
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()

    async def _report(
        self, stored: StackDefinition, outcome: DeployOutcome, revision: int | None
    ) -> None:
        """A deploy ended: publish it on the fleet's hub, then tell ``on_outcome``."""
        self.fleet.hub.publish(
            DeployFinished(stored.name, stored.environment, outcome.ok, outcome.message, revision)
        )
        if self.on_outcome is not None:
            await self.on_outcome(
                stored.name, stored.environment, outcome.ok, outcome.message, revision
            )

    def _unchanged(self, stored: StackDefinition, number: int | None) -> Any:
        async def finish(outcome: DeployOutcome) -> None:
            if outcome.ok:
                outcome.message += f"; nothing changed: revision {number} runs, no new revision"
            status = "running" if outcome.ok else "failed"
            await self.repo.set_status(stored.name, status, outcome.message, None)
            await self._report(stored, outcome, number)

        return finish

    def _finisher(
        self, stored: StackDefinition, number: int, restores: int | None, *,
        restored_variables: bool,
    ) -> Any:  # fmt: skip
        previous = stored.revision

        async def finish(outcome: DeployOutcome) -> None:
            if outcome.rolled_back and previous is not None:
                outcome.message += f" (revision {previous})"
                # What runs is the previous revision again: so is the definition, and the
                # next diff or deploy starts from it (this one stays in history, rolled back).
                running = await self.repo.revision(stored, previous)
                await self.repo.restore_definition(
                    stored.name, running, variables=restored_variables
                )
            if restores is not None:
                # History must say what a rollback restored, not only what it changed.
                outcome.message = f"rollback to revision {restores}: {outcome.message}"
            result = "ok" if outcome.ok else ("rolled_back" if outcome.rolled_back else "failed")
            await self.repo.finish_revision(
                stored, number, result, outcome.message, outcome.image_digests
            )
            status = "running" if outcome.ok else ("running" if outcome.rolled_back else "failed")
            current = number if outcome.ok else None
            await self.repo.set_status(stored.name, status, outcome.message, current)
            await self._report(stored, outcome, number)

        return finish

    async def prepare_rollback(
        self, name: str, actor: str, revision: int | None, *, admin: bool = False
    ) -> DeployRun:
        """A deploy of an earlier revision: its files, variables and image digests exactly.

        Without ``revision``: the newest successful revision before the running one that
        differs from it (files, env file, variables or images); refused when none does.
        """
        stored = await self.repo.require(name)
        if revision is None:
            revision = await self._rollback_target(stored)
        row = await self.repo.revision(stored, revision)
        files = await self.repo.files(name, row.files)
        chosen = _vars(row)
        shell = self.repo.opened(name, [v for v in chosen if v.source == SHELL_SOURCE])
        proposal = Proposal(environment=row.environment, files=files, env_file=row.env_file,
                            shell=shell)  # fmt: skip
        return await self.prepare(
            name, actor, proposal, Strategy(row.strategy), pinned=dict(row.image_digests),
            variables=[v for v in chosen if v.source != SHELL_SOURCE], restores=revision,
            admin=admin,
        )  # fmt: skip

    async def _rollback_target(self, stored: StackDefinition) -> int:
        """The revision ``stack rollback`` without a number goes to (see prepare_rollback)."""
        rows = await self.repo.revisions(stored)
        current = next((r for r in rows if r.revision == stored.revision), None)
        earlier = [r for r in rows if r.result == "ok"
                   and (current is None or r.revision < current.revision)]  # fmt: skip
        if not earlier:
            raise ConflictError(f"stack {stored.name!r} has no earlier successful revision")
        if current is None:
            return earlier[0].revision

        def key(row: StackRevision) -> tuple[str, dict[str, Any]]:
            content = self._content(stored.name, row.files, row.env_file, _vars(row))
            return content, dict(row.image_digests or {})

        running = key(current)
        for row in earlier:
            if key(row) != running:
                return row.revision
        raise ConflictError(
            f"stack {stored.name!r}: every earlier successful revision is the same as the "
            f"running revision {current.revision} (files, variables and images): a rollback "
            "would change nothing",
            hint=f"see them with: fleetdeck stack history {stored.name}",
        )

    # ------------------------------------------------------------------ the rest
    async def history(self, name: str) -> list[dict[str, Any]]:
        """Revisions, newest first."""
        stored = await self.repo.require(name)
        return [revision_json(r) for r in await self.repo.revisions(stored)]

    async def revision(self, name: str, number: int) -> dict[str, Any]:
        """One revision with its files (secret values never included)."""
        stored = await self.repo.require(name)
        row = await self.repo.revision(stored, number)
        return revision_json(row, files=await self.repo.files(name, row.files))

    async def remove(self, name: str) -> None:
        """Remove the stack's containers/services (named volumes kept) and forget it."""
        stored = await self.repo.require(name)
        kind = TargetKind(stored.kind)
        target = DeployTarget(stack=name, environment=stored.environment, kind=kind)

        async def ignore(_: Any) -> None:
            return None

        await self.applier(kind).remove(name, target, progress=ignore)  # the caller holds the lock
        await self.repo.delete(name)
        if self.scales is not None:
            await self.scales.drop(name)
        if self.allowances is not None:  # a later stack of that name starts with none
            await self.allowances.replace(Scope.stack, name, [], "system")


def _vars(row: StackRevision) -> list[Variable]:
    return [Variable.from_revision(v) for v in row.variables]


def refuse_blocked(
    plan: Plan, stack: str = "STACK", environment: str = "ENV", allowable: Collection[str] = ()
) -> None:
    """Refuse a deploy whose plan has blocking findings, naming each rule and its services.

    Checked once the plan is known (images inspected on the node, so ``root-user`` sees each
    image's own USER) and before anything is stored or changed. Raised as PermissionDenied
    when only ``allowable`` rules (dangerous ones an admin could allow) block it, else as
    invalid input.
    """
    blocked: dict[str, list[str]] = {}
    for finding in plan.findings:
        if finding.blocking:
            blocked.setdefault(finding.rule, []).append(finding.service)
    if not blocked:
        return
    first = next(f for f in plan.findings if f.blocking)
    rules = "; ".join(
        f"rule {rule} blocks deploys: service(s) {', '.join(dict.fromkeys(services))}"
        for rule, services in blocked.items()
    )
    message = f"service {first.service!r}: {first.message} ({rules})"
    if set(blocked) <= set(allowable):
        raise PermissionDeniedError(
            message,
            hint=f"an admin may deploy it, or allow it: fleetdeck stack allow {stack} "
            f"{' '.join(sorted(blocked))} (or --env {environment} for every stack there)",
        )
    raise InvalidInputError(
        message, hint="change the service, or the server's stacks_blocking_rules"
    )


def _located(message: str) -> dict[str, Any]:
    """``{file, line, message}`` from a loader message ``FILE:LINE: text``."""
    head, sep, rest = message.partition(": ")
    file, _, line = head.rpartition(":")
    if sep and file and line.isdigit():
        return {"file": file, "line": int(line), "message": rest}
    return {"file": None, "line": None, "message": message}
