"""Volume backups: find the volumes, make them consistent, copy them on their node, record.

A policy's run, node by node: the containers of its scope that mount the volumes are stopped
(``stop``), paused (``pause``), or asked to write a consistent copy themselves (``hook``: the
policy's pre command run inside each of them, e.g. a database dump); then each volume is
copied by restic on its node, through that node's agent (the server cannot reach volumes);
then, in a ``finally`` — whatever the copy did — the containers are started (unpaused, the post
command run) again. A container that does not come back running is alerted at once and named
on the run (``restart_error``); the copy it made is kept and counted (``ok``).

Each good copy is followed by the policy's retention (``restic forget --keep-last N --prune``
over that policy's snapshots of that volume); the runs whose snapshots it removed are marked
``forgotten``. restic deduplicates, so a second backup of a volume that changed little adds
only what changed (``added_bytes``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import (
    ConflictError,
    FleetdeckError,
    InvalidInputError,
    NotFoundError,
)
from fleetdeck.server.alerts.rules import BACKUP_FAILED
from fleetdeck.server.backups.restic import _classify
from fleetdeck.server.store.models_volume_backups import VolumeBackupPolicy, VolumeBackupRun
from fleetdeck.wire.volume_backups import HELPER_LABEL

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.backups.service import BackupService, ResolvedTarget
    from fleetdeck.server.fleet.hub import Subscription
    from fleetdeck.server.fleet.links import AgentLink
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.loops import BackgroundLoop
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.volbackups.policy import DeclaredPolicy
    from fleetdeck.server.volbackups.repository import VolumeBackupRepository
    from fleetdeck.wire.containers import EngineContainer
    from fleetdeck.wire.volume_backups import ResticJobResult

    ComposeFiles = Callable[[str], Awaitable[list[tuple[str, str]]]]

log = logging.getLogger(__name__)

#: The helper image with restic (and /bin/sh) every node backing up volumes must have.
HELPER_IMAGE = "fleetdeck/volume-backup:restic"
#: The tag on every volume snapshot.
VOLUME_TAG = "fleetdeck-volume"
MAX_ERROR_CHARS = 500
#: Seconds a stopped container gets to exit before it is killed.
STOP_TIMEOUT_S = 30
#: Seconds after a restart before a container must still be running.
RESTART_GRACE_S = 1.0
#: Longest a hook command may run.
HOOK_TIMEOUT_S = 600.0
#: Longest one restic job (a backup or a restore) may run.
JOB_TIMEOUT_S = 3600.0
#: Most containers of one node inspected to find who mounts a volume.
MAX_INSPECTED = 500


def _context(name: str) -> str:
    return f"volume-backup-policy:{name}"


def _error_text(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, FleetdeckError) else "internal error"
    return text[:MAX_ERROR_CHARS]


@dataclass
class NodeScope:
    """One node's part of a policy: its volumes and the containers that mount them."""

    node: str
    volumes: list[str] = field(default_factory=list)
    containers: list[EngineContainer] = field(default_factory=list)


class VolumeBackupService:
    """Volume backup policies, runs and restores.

    Args:
        repo: The volume backup tables.
        backups: The server backups' service (targets, the server's passphrase).
        fleet: The fleet (inventory and agent links).
        secrets: Seals a policy's own passphrase.
        clock: The present.
        alerts: Where failures are reported (None: not reported).
        compose_files: ``async (stack) -> [(name, text)]`` of a stack's Compose files.
        image: The helper image on the nodes.
    """

    def __init__(
        self,
        repo: VolumeBackupRepository,
        backups: BackupService,
        fleet: Fleet,
        secrets: SecretBox,
        clock: Clock,
        alerts: AlertService | None = None,
        compose_files: ComposeFiles | None = None,
        image: str = HELPER_IMAGE,
    ) -> None:
        self.repo = repo
        self.backups = backups
        self.fleet = fleet
        self._secrets = secrets
        self.clock = clock
        self.alerts = alerts
        self.compose_files = compose_files
        self.image = image
        #: Stacks whose Compose policies are read again at the next step (deployed since).
        self.compose_refresh: set[tuple[str, str]] = set()
        self._running: set[str] = set()
        self._lock = asyncio.Lock()
        self.loop: BackgroundLoop | None = None
        #: The fleet hub subscription to deploys (set by the part's ``start``).
        self.subscription: Subscription[Any] | None = None

    # --- policies --------------------------------------------------------------------------

    async def add_policy(
        self,
        *,
        name: str,
        environment: str,
        target: str,
        node: str | None = None,
        stack: str | None = None,
        service: str | None = None,
        volumes: list[str] | None = None,
        interval_s: float | None = 86400.0,
        keep_last: int = 7,
        consistency: str = "none",
        pre_hook: str | None = None,
        post_hook: str | None = None,
        passphrase: str | None = None,
        enabled: bool = True,
        source: str = "api",
    ) -> VolumeBackupPolicy:
        """Add a policy (checked: its environment and target exist, its scope is complete)."""
        row = await self._checked_row(
            name=name, environment=environment, target=target, node=node, stack=stack,
            service=service, volumes=volumes or [], interval_s=interval_s, keep_last=keep_last,
            consistency=consistency, pre_hook=pre_hook, post_hook=post_hook, enabled=enabled,
            source=source,
        )  # fmt: skip
        if passphrase:
            row.passphrase_encrypted = self._secrets.seal(passphrase, _context(name))
        added = await self.repo.add_policy(row)
        self.wake()
        return added

    async def _checked_row(self, **fields: Any) -> VolumeBackupPolicy:
        self.fleet.require_environment(fields["environment"])
        await self.backups.repo.target(fields["target"])
        if fields["service"] and not fields["stack"]:
            raise InvalidInputError("a service is named with its stack (--stack)")
        if not fields["stack"] and not fields["volumes"]:
            raise InvalidInputError(
                "say what to back up: a stack (every volume it mounts) or volume names"
            )
        if fields["consistency"] == "hook" and not (fields["pre_hook"] or fields["post_hook"]):
            raise InvalidInputError("consistency hook needs a pre or post command")
        if fields["consistency"] != "hook" and (fields["pre_hook"] or fields["post_hook"]):
            raise InvalidInputError("pre and post commands go with consistency hook")
        return VolumeBackupPolicy(**fields)

    async def policies(self) -> list[VolumeBackupPolicy]:
        """Every policy."""
        return await self.repo.policies()

    async def remove_policy(self, name: str) -> None:
        """Forget a policy (its backups and their runs stay)."""
        await self.repo.delete_policy(name)

    async def refresh_declared(
        self, source: str, stack: str, environment: str, found: list[DeclaredPolicy]
    ) -> None:
        """Replace a stack's Compose (or label) policies with what is declared now."""
        rows = []
        for policy in found:
            rows.append(
                await self._checked_row(
                    name=policy.name,
                    environment=environment,
                    target=policy.target,
                    node=None,
                    stack=stack,
                    service=policy.service,
                    volumes=policy.volumes,
                    interval_s=policy.interval_s,
                    keep_last=policy.keep_last,
                    consistency=policy.consistency,
                    pre_hook=policy.pre_hook,
                    post_hook=policy.post_hook,
                    enabled=policy.enabled,
                    source=source,
                )  # fmt: skip
            )
        await self.repo.replace_declared(source, stack, rows)

    async def _refresh_compose(self) -> None:
        from fleetdeck.server.volbackups.policy import compose_policies

        while self.compose_refresh and self.compose_files is not None:
            stack, environment = self.compose_refresh.pop()
            try:
                found = compose_policies(stack, await self.compose_files(stack))
                await self.refresh_declared("compose", stack, environment, found)
            except FleetdeckError as exc:
                # The deploy went through; its backup policy did not: say so, keep the old.
                log.warning("volume backup policy of stack %s: %s", stack, exc.message)
                await self._alert(
                    {"stack": stack, "problem": "policy"},
                    f"the volume backup policy of stack {stack} is refused: {exc.message}",
                )

    async def _drop_orphans(self) -> None:
        """Compose policies of a stack that is gone (or has no Compose file left) go too."""
        if self.compose_files is None:
            return
        stacks = {p.stack for p in await self.repo.policies() if p.source == "compose"}
        for stack in sorted(s for s in stacks if s):
            if not await self.compose_files(stack):
                await self.repo.replace_declared("compose", stack, [])

    async def _refresh_labels(self) -> None:
        from fleetdeck.server.volbackups.policy import label_policy

        found: dict[tuple[str, str], dict[str, DeclaredPolicy]] = {}
        for state in self.fleet.inventory.nodes():
            for container in state.containers.values():
                try:
                    policy = label_policy(
                        container.labels, container.stack, container.service, container.name
                    )
                except FleetdeckError as exc:
                    log.warning("volume backup labels of %s: %s", container.name, exc.message)
                    continue
                if policy is not None and container.stack:
                    key = (container.stack, state.environment)
                    found.setdefault(key, {})[policy.name] = policy
        stacks = {
            (r.stack, r.environment) for r in await self.repo.policies() if r.source == "label"
        }
        for stack, environment in stacks | set(found):
            if stack is None:
                continue
            policies = list(found.get((stack, environment), {}).values())
            try:
                await self.refresh_declared("label", stack, environment, policies)
            except FleetdeckError as exc:
                log.warning("volume backup labels of stack %s: %s", stack, exc.message)

    # --- scope -----------------------------------------------------------------------------

    async def _mounts(self, environment: str, node: str, container: EngineContainer) -> list[str]:
        link = self.fleet.links.get(environment, node)
        inspect = await link.agent.inspect_container(container.id)
        return [
            str(m["Name"])
            for m in inspect.get("Mounts") or []
            if m.get("Type") == "volume" and m.get("Name")
        ]

    async def scope(self, policy: VolumeBackupPolicy) -> list[NodeScope]:
        """The nodes, volumes and containers a policy covers now.

        Raises:
            NotFoundError: Nothing of the policy's scope is in the fleet.
        """
        scopes: dict[str, NodeScope] = {}
        for state in self.fleet.inventory.nodes(policy.environment):
            if policy.node is not None and state.node != policy.node:
                continue
            candidates = [
                c
                for c in state.containers.values()
                if (policy.stack is None or c.stack == policy.stack)
                and (policy.service is None or c.service == policy.service)
                and not c.labels.get(HELPER_LABEL)
            ][:MAX_INSPECTED]
            for container in candidates:
                mounted = await self._mounts(policy.environment, state.node, container)
                wanted = [v for v in mounted if not policy.volumes or v in policy.volumes]
                if not wanted:
                    continue
                scope = scopes.setdefault(state.node, NodeScope(state.node))
                scope.containers.append(container)
                scope.volumes += [v for v in wanted if v not in scope.volumes]
            if policy.stack is None and policy.volumes and state.node not in scopes:
                # Named volumes no container mounts are still backed up (nothing to stop).
                if (
                    policy.node is not None
                    or len(self.fleet.inventory.nodes(policy.environment)) == 1
                ):
                    scopes[state.node] = NodeScope(state.node, list(policy.volumes))
        if not scopes:
            what = f"stack {policy.stack}" if policy.stack else ", ".join(policy.volumes)
            raise NotFoundError(
                f"policy {policy.name}: no volume of {what} in environment {policy.environment}",
                hint="is the stack deployed and its node up? (volumes: name the node with --node)",
            )
        return list(scopes.values())

    # --- targets and passphrases -----------------------------------------------------------

    def _passphrase(self, policy: VolumeBackupPolicy | None, given: str | None = None) -> str:
        if given:
            return given
        if policy is not None and policy.passphrase_encrypted is not None:
            return self._secrets.open(policy.passphrase_encrypted, _context(policy.name))
        value = self.backups.settings.backup_passphrase_value()
        if not value:
            raise InvalidInputError(
                "no passphrase for volume backups",
                hint="give the policy a passphrase, or set FLEETDECK_BACKUP_PASSPHRASE",
            )
        return value

    @staticmethod
    def job_location(target: ResolvedTarget, passphrase: str) -> dict[str, Any]:
        """Where the helper finds the repository, and the secrets it needs for it."""
        secrets = {"RESTIC_PASSWORD": passphrase}
        if target.dest.kind == "dir":
            return {"repository": "/repo", "directory": target.dest.url, "secrets": secrets}
        if target.dest.kind == "s3":
            if not target.creds.access_key_id or not target.creds.secret_key:
                raise InvalidInputError(f"S3 target {target.label} has no access key")
            secrets |= {
                "AWS_ACCESS_KEY_ID": target.creds.access_key_id,
                "AWS_SECRET_ACCESS_KEY": target.creds.secret_key,
            }
            return {"repository": target.dest.url, "secrets": secrets}
        if target.dest.kind == "sftp":
            creds = target.creds
            if not creds.known_hosts:
                raise InvalidInputError(f"SFTP target {target.label} has no known_hosts entry")
            secrets["SSH_KNOWN_HOSTS"] = creds.known_hosts
            if creds.ssh_key is not None:
                secrets["SSH_KEY"] = creds.ssh_key
            elif creds.ssh_password is not None:
                secrets["SSH_PASSWORD"] = creds.ssh_password
            else:
                raise InvalidInputError(f"SFTP target {target.label} has no key or password")
            dest = target.dest
            return {
                "repository": f"sftp:{dest.user}@{dest.host}:{dest.path}",
                "sftp": {"user": dest.user, "host": dest.host, "port": dest.port},
                "secrets": secrets,
            }
        raise InvalidInputError(
            f"volume backups cannot go to {target.dest.kind} target {target.label}"
        )

    async def _job(
        self, environment: str, node: str, volume: str, job: dict[str, Any], label: str
    ) -> ResticJobResult:
        link = self.fleet.links.get(environment, node)
        timeout = float(job.get("timeout_s", JOB_TIMEOUT_S)) + 30.0
        result = await link.agent.volume_restic(
            volume, {"image": self.image, **job}, timeout=timeout
        )
        if result.exit_code != 0:
            from fleetdeck.server.backups.restic import ResticRepo

            raise _classify(ResticRepo(label, ""), result.stderr or f"exit {result.exit_code}")
        return result

    # --- backups ---------------------------------------------------------------------------

    async def start(self) -> None:
        """At server start: runs a stopped server left behind are ``interrupted``."""
        count = await self.repo.mark_interrupted()
        if count:
            log.warning("%d volume backup run(s) were interrupted by a stop", count)

    async def run_policy(self, name: str, trigger: str = "manual") -> list[VolumeBackupRun]:
        """Back up every volume of a policy now; one run per volume.

        Raises:
            ConflictError: That policy is being backed up already.
            NotFoundError, InvalidInputError: No such policy, nothing in scope, no target.
        """
        if name in self._running:
            raise ConflictError(f"policy {name} is being backed up already")
        self._running.add(name)
        try:
            policy = await self.repo.policy(name)
            target = await self.backups.resolve(policy.target)
            secret = self._passphrase(policy)
            location = self.job_location(target, secret)
            scopes = await self.scope(policy)
            run_ids: list[str] = []
            for scope in scopes:
                run_ids += await self._run_node(policy, target.label, location, scope, trigger)
            return [await self.repo.run(i) for i in run_ids]
        finally:
            self._running.discard(name)

    async def _run_node(
        self,
        policy: VolumeBackupPolicy,
        target: str,
        location: dict[str, Any],
        scope: NodeScope,
        trigger: str,
    ) -> list[str]:
        env = policy.environment
        runs = []
        for volume in scope.volumes:
            row = VolumeBackupRun(
                policy=policy.name, environment=env, node=scope.node, volume=volume,
                target=target, trigger=trigger, consistency=policy.consistency,
                status="running", started_at=self.clock.now(),
            )  # fmt: skip
            runs.append(await self.repo.add_run(row))
        touched: list[EngineContainer] = []
        try:
            await self._before(policy, scope, touched)
        except FleetdeckError as exc:
            for row in runs:
                await self._failed(row, f"before the copy: {exc.message}")
        else:
            try:
                for row in runs:
                    await self._copy(policy, location, row)
            except BaseException:
                await self._after(policy, scope, touched)
                raise
        restart_errors = await self._after(policy, scope, touched)
        if restart_errors:
            text = "; ".join(restart_errors)[:MAX_ERROR_CHARS]
            for row in runs:
                await self.repo.update_run(row.id, restart_error=text)
            await self._alert(
                {
                    "environment": env,
                    "node": scope.node,
                    "policy": policy.name,
                    "problem": "restart",
                },
                f"volume backup {policy.name} on {env}/{scope.node}: the service did not come "
                f"back after the copy: {text}",
            )
        for row in runs:
            fresh = await self.repo.run(row.id)
            if fresh.status == "ok":
                await self._retention(policy, location, fresh)
        return [r.id for r in runs]

    async def _before(
        self, policy: VolumeBackupPolicy, scope: NodeScope, done: list[EngineContainer]
    ) -> None:
        """Stop, pause or run the pre hook; ``done`` gets each container changed (to undo)."""
        link = self.fleet.links.get(policy.environment, scope.node)
        running = [c for c in scope.containers if c.state == "running"]
        if policy.consistency in ("stop", "pause"):
            for container in running:
                if policy.consistency == "stop":
                    await link.agent.container_action(
                        container.id, "stop", t=STOP_TIMEOUT_S, timeout=STOP_TIMEOUT_S + 30
                    )
                else:
                    await link.agent.container_action(container.id, "pause", timeout=30)
                done.append(container)
        elif policy.consistency == "hook" and policy.pre_hook:
            for container in running:
                answer = await link.agent.exec(
                    container.id, ["/bin/sh", "-c", policy.pre_hook], timeout=HOOK_TIMEOUT_S
                )
                done.append(container)
                if int(answer.get("exit_code", 1)) != 0:
                    output = str(answer.get("output", ""))[-300:]
                    raise InvalidInputError(
                        f"the pre hook failed in {container.name} "
                        f"(exit {answer.get('exit_code')}): {output}"
                    )
        elif policy.consistency == "hook":
            done += running

    async def _after(
        self, policy: VolumeBackupPolicy, scope: NodeScope, touched: list[EngineContainer]
    ) -> list[str]:
        """Undo :meth:`_before` for every container it changed; what did not come back."""
        errors: list[str] = []
        if not touched:
            return errors
        try:
            link = self.fleet.links.get(policy.environment, scope.node)
        except FleetdeckError as exc:
            return [f"{c.name}: {exc.message}" for c in touched]
        for container in touched:
            try:
                if policy.consistency == "stop":
                    await link.agent.container_action(container.id, "start", timeout=60)
                elif policy.consistency == "pause":
                    await link.agent.container_action(container.id, "unpause", timeout=30)
                elif policy.post_hook:
                    answer = await link.agent.exec(
                        container.id, ["/bin/sh", "-c", policy.post_hook], timeout=HOOK_TIMEOUT_S
                    )
                    if int(answer.get("exit_code", 1)) != 0:
                        errors.append(
                            f"{container.name}: the post hook exited {answer.get('exit_code')}"
                        )
            except FleetdeckError as exc:
                errors.append(f"{container.name}: {exc.message}")
        if policy.consistency == "stop":
            errors += await self._not_running(link, touched)
        return errors

    @staticmethod
    async def _not_running(link: AgentLink, containers: list[EngineContainer]) -> list[str]:
        """The containers not running a moment after their restart (each named, with why)."""
        await asyncio.sleep(RESTART_GRACE_S)
        errors: list[str] = []
        for container in containers:
            try:
                state = (await link.agent.inspect_container(container.id)).get("State") or {}
            except FleetdeckError as exc:
                errors.append(f"{container.name}: {exc.message}")
                continue
            if not state.get("Running") or state.get("Restarting"):
                errors.append(
                    f"{container.name} is {state.get('Status', 'not running')} "
                    f"(exit code {state.get('ExitCode')})"
                )
        return errors

    async def _copy(
        self, policy: VolumeBackupPolicy, location: dict[str, Any], row: VolumeBackupRun
    ) -> None:
        started = time.monotonic()
        tags = [f"{VOLUME_TAG},policy={policy.name},volume={row.volume}".replace("/", ":")]
        job = {**location, "op": "backup", "tags": tags, "host": row.node[:120] or "node"}
        try:
            result = await self._job(row.environment, row.node, row.volume, job, row.target)
            summary = result.summary or {}
            if "snapshot_id" not in summary:
                raise InvalidInputError(f"restic wrote no snapshot of {row.volume}")
        except FleetdeckError as exc:
            await self._failed(row, exc.message, time.monotonic() - started)
            return
        await self.repo.update_run(
            row.id, status="ok", finished_at=self.clock.now(),
            duration_s=time.monotonic() - started, snapshot_id=str(summary["snapshot_id"]),
            size_bytes=int(summary.get("total_bytes_processed", 0) or 0),
            added_bytes=int(summary.get("data_added", 0) or 0),
            files=int(summary.get("total_files_processed", 0) or 0),
        )  # fmt: skip
        await self._alert(
            {"environment": row.environment, "node": row.node, "volume": row.volume,
             "problem": "backup"},
            f"volume {row.volume} backed up", resolved=True,
        )  # fmt: skip

    async def _failed(self, row: VolumeBackupRun, message: str, duration: float = 0.0) -> None:
        await self.repo.update_run(
            row.id, status="failed", finished_at=self.clock.now(), duration_s=duration,
            error=message[:MAX_ERROR_CHARS],
        )  # fmt: skip
        await self._alert(
            {"environment": row.environment, "node": row.node, "volume": row.volume,
             "problem": "backup"},
            f"backup of volume {row.volume} on {row.environment}/{row.node} failed: {message}",
        )  # fmt: skip

    async def _retention(
        self, policy: VolumeBackupPolicy, location: dict[str, Any], row: VolumeBackupRun
    ) -> None:
        tags = [f"{VOLUME_TAG},policy={policy.name},volume={row.volume}".replace("/", ":")]
        job = {**location, "op": "forget", "tags": tags, "keep_last": policy.keep_last}
        try:
            result = await self._job(row.environment, row.node, row.volume, job, row.target)
        except FleetdeckError as exc:
            log.warning("retention of %s failed: %s", policy.name, exc.message)
            return
        await self.repo.mark_forgotten(policy.name, row.volume, result.removed)

    async def _alert(self, labels: dict[str, str], message: str, resolved: bool = False) -> None:
        if self.alerts is not None:
            await self.alerts.report_event(
                BACKUP_FAILED, {"kind": "volume", **labels}, message, "critical", resolved=resolved
            )

    async def runs(self, limit: int = 100, policy: str | None = None) -> list[VolumeBackupRun]:
        """The newest runs first."""
        return await self.repo.runs(limit, policy)

    # --- restore ---------------------------------------------------------------------------

    async def restore(
        self,
        backup: str,
        *,
        environment: str | None = None,
        node: str | None = None,
        volume: str | None = None,
        replace: bool = False,
        passphrase: str | None = None,
    ) -> dict[str, Any]:
        """Restore a backup into a volume: the same one, a new one, or one on another node.

        A volume a running container mounts is refused (stop its service first); a volume
        that holds data is refused unless ``replace``; a missing one is created.

        Raises:
            NotFoundError, ConflictError, InvalidInputError, BackupPassphraseError,
            BackupDamagedError.
        """
        run = await self.repo.run(backup)
        if run.status not in ("ok", "forgotten") or not run.snapshot_id:
            raise ConflictError(f"backup {backup} is {run.status}: nothing to restore")
        if run.status == "forgotten":
            raise NotFoundError(f"backup {backup} was removed by retention")
        env = environment or run.environment
        self.fleet.require_environment(env)
        nodes = [s.node for s in self.fleet.inventory.nodes(env)]
        where = node or (
            run.node if env == run.environment else (nodes[0] if len(nodes) == 1 else None)
        )
        if where is None or where not in nodes:
            raise InvalidInputError(f"say which node of {env} to restore onto (--node)")
        name = volume or run.volume
        for state in self.fleet.inventory.nodes(env):
            if state.node != where:
                continue
            for container in list(state.containers.values())[:MAX_INSPECTED]:
                if container.state in (
                    "running",
                    "paused",
                    "restarting",
                ) and name in await self._mounts(env, where, container):
                    raise ConflictError(
                        f"volume {name} on {env}/{where} is in use by {container.name}",
                        hint="stop the service first (and start it after the restore)",
                    )
        policy = None
        if run.policy:
            try:
                policy = await self.repo.policy(run.policy)
            except NotFoundError:
                policy = None
        target = await self.backups.resolve(run.target)
        location = self.job_location(target, self._passphrase(policy, passphrase))
        job = {**location, "op": "restore", "snapshot": run.snapshot_id, "create": True,
               "replace": replace}  # fmt: skip
        started = time.monotonic()
        result = await self._job(env, where, name, job, run.target)
        return {
            "backup": run.id, "snapshot": run.snapshot_id[:8], "environment": env, "node": where,
            "volume": name, "created": result.created, "duration_s": time.monotonic() - started,
        }  # fmt: skip

    # --- schedule --------------------------------------------------------------------------

    async def next_due_in(self, policy: VolumeBackupPolicy) -> float | None:
        """Seconds until a policy's next scheduled backup (0: due; None: not scheduled)."""
        if not policy.enabled or policy.interval_s is None:
            return None
        scheduled = [r for r in await self.repo.runs(50, policy.name) if r.trigger == "schedule"]
        if not scheduled:
            return 0.0
        age = (self.clock.now() - scheduled[0].started_at).total_seconds()
        return max(0.0, policy.interval_s - age)

    def wake(self) -> None:
        """Look at the policies now."""
        if self.loop is not None:
            self.loop.wake()

    async def scheduled_step(self) -> None:
        """One run of the schedule loop: read declared policies, back up what is due."""
        async with self._lock:
            await self._refresh_compose()
            await self._drop_orphans()
            await self._refresh_labels()
            for policy in await self.repo.policies():
                left = await self.next_due_in(policy)
                if left is None or left > 0 or policy.name in self._running:
                    continue
                try:
                    await self.run_policy(policy.name, trigger="schedule")
                except FleetdeckError as exc:
                    log.warning("scheduled volume backup %s failed: %s", policy.name, exc.message)
                    await self.repo.add_run(
                        VolumeBackupRun(
                            policy=policy.name,
                            environment=policy.environment,
                            node=policy.node or "",
                            volume=",".join(policy.volumes) or "*",
                            target=policy.target,
                            trigger="schedule",
                            consistency=policy.consistency,
                            status="failed",
                            started_at=self.clock.now(),
                            finished_at=self.clock.now(),
                            error=_error_text(exc),
                        )  # fmt: skip
                    )
                    await self._alert(
                        {"environment": policy.environment, "policy": policy.name,
                         "problem": "backup"},
                        f"scheduled volume backup {policy.name} failed: {exc.message}",
                    )  # fmt: skip

    async def idle(self) -> None:
        """Return once no scheduled step is running (shutdown, tests)."""
        async with self._lock:
            pass
