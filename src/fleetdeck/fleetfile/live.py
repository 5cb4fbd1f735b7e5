"""The server's side of a plan, through the typed client: read it, apply a plan, export it.

``apply`` works kind by kind in :data:`~fleetdeck.fleetfile.model.KINDS` order, after the
whole plan was computed and checked (nothing is sent for a plan that fails). Within a kind
it updates, then creates, then replaces, then deletes; should a step fail, the kind's
creates and updates already made are undone (deleted, or set back to their old fields), so
a kind is applied wholly or not at all as far as the API allows, and the error names what
failed. Every step converges on the state the files describe, so re-running ``apply`` after
a crash finishes the work: the new plan holds only what is left. Stacks are checked by the
server (``POST /stacks/validate``) before any is deployed, and each deploy is the normal
health-gated one with its automatic undo.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.client.stack_files import stack_file
from fleetdeck.errors import FleetdeckError, InvalidInputError
from fleetdeck.fleetfile.diff import Change, Live, Plan
from fleetdeck.fleetfile.model import KINDS
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from collections.abc import Callable

    from fleetdeck.client.client import FleetdeckClient

#: The client method that deploys a stack from its Git source (``name, environment, git``
#: -> the deploy's event stream, like ``deploy_stack``), once the Git feature provides one.
#: Until then a stack with ``git:`` fails ``plan`` naming its line.
GIT_DEPLOY = "deploy_stack_git"

#: The fields of a rule that plan compares (as ``GET /rules`` serves them).
RULE_FIELDS = ("description", "condition", "metric", "target", "operator", "threshold",
                "instance", "window", "for", "severity", "environments", "tags", "stacks",
                "labels", "channels", "repeat", "enabled")  # fmt: skip


def _sorted(values: list[str]) -> list[str]:
    return sorted(values)


def read_live(client: FleetdeckClient, *, with_content: bool = False) -> Live:
    """The fleet as the server has it, normalized for :func:`~fleetdeck.fleetfile.diff.make_plan`.

    With ``with_content``, stacks keep their files' content under ``_content`` (export).
    """
    live = Live()
    _read_admin(client, live)
    _read_alerts(client, live)
    _read_stacks(client, live, with_content)
    for layer in client.heal_policies().layers:
        if layer.source == "api":
            live.objects["heal"][layer.target] = dict(layer.fields)
    for policy in client.list_autoscale():
        live.objects["autoscale"][policy.target.split(":", 1)[-1]] = {
            "kind": policy.kind, "min": policy.min, "max": policy.max, "cpu": policy.cpu,
            "memory": policy.memory, "prometheus": policy.prometheus,
            "target": policy.prometheus_target, "recommend_only": policy.recommend_only,
            "scale_down_window_s": policy.scale_down_window_s, **policy.behaviour,
        }  # fmt: skip
    return live


def _read_admin(client: FleetdeckClient, live: Live) -> None:
    obj = live.objects
    for env in client.list_environments():
        obj["environments"][env.name] = {
            "kind": env.kind, "docker_host": env.docker_host,
            "tags": _sorted(env.tags), "groups": _sorted(env.groups),
        }  # fmt: skip
    for reg in client.list_registries():
        obj["registries"][reg.name] = {"url": reg.url, "username": reg.username}
    for user in client.list_users():
        obj["users"][user.username] = {"role": user.role.value, "disabled": user.disabled}
    live.protected.add(("users", client.me().username))


def _read_alerts(client: FleetdeckClient, live: Live) -> None:
    obj = live.objects
    for channel in client.list_channels():
        obj["channels"][channel.name] = {
            "url": channel.url,
            "min_severity": channel.min_severity,
            "enabled": channel.enabled,
        }
    for rule in client.list_rules():
        data = rule.model_dump(by_alias=True)
        values = {k: data[k] for k in RULE_FIELDS}
        for key in ("environments", "tags", "stacks", "labels", "channels"):
            values[key] = _sorted(values[key])
        obj["rules"][rule.name] = values
        if rule.builtin:
            live.protected.add(("rules", rule.name))
    for silence in client.list_silences():
        if silence.state in ("active", "pending"):
            key = ",".join(sorted(silence.matchers))
            obj["silences"][key] = {
                "ends_at": silence.ends_at, "starts_at": silence.starts_at,
                "comment": silence.comment,
            }  # fmt: skip
            live.ids[("silences", key)] = silence.id
    for window in client.list_maintenance():
        if window.state in ("active", "pending"):
            key = f"{window.environment}/{window.reason}"
            obj["maintenance"][key] = {
                "environment": window.environment, "reason": window.reason,
                "ends_at": window.ends_at, "starts_at": window.starts_at,
            }  # fmt: skip
            live.ids[("maintenance", key)] = window.id


def _read_stacks(client: FleetdeckClient, live: Live, with_content: bool) -> None:
    for summary in client.list_stacks():
        if not summary.get("managed"):
            continue
        detail = client.get_stack(summary["name"])
        entry: dict[str, Any] = {
            "environment": detail["environment"],
            "files": {f["name"]: f["sha256"] for f in detail["files"]},
            "env_file": detail.get("env_file"),
        }
        if with_content:
            entry["_content"] = detail["files"]
        live.objects["stacks"][detail["name"]] = entry


# ------------------------------------------------------------------ apply
@dataclass
class ApplyReport:
    """What ``apply`` did: one line per change, and notes (join commands, new users)."""

    done: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _files_of(change: Change) -> list[dict[str, str]]:
    contents: dict[str, bytes] = (change.desired or {}).get("_files", {})
    return [stack_file(name, data) for name, data in contents.items()]


class Applier:
    """Carries out a :class:`Plan` through the client (see the module docstring)."""

    def __init__(self, client: FleetdeckClient, live: Live) -> None:
        """Apply against ``client``; ``live`` is the state the plan was made from."""
        self.client = client
        self.live = live
        self.report = ApplyReport()

    def apply(self, plan: Plan, stack_order: list[str]) -> ApplyReport:
        """Apply every kind in order; the first failing kind stops the run (see module)."""
        self.precheck(plan)
        for kind in KINDS:
            changes = plan.of(kind)
            if kind == "stacks":
                rank = {name: i for i, name in enumerate(stack_order)}
                changes.sort(key=lambda c: (c.action == "delete", rank.get(c.key, 0)))
            else:
                order = {"update": 0, "create": 1, "replace": 2, "delete": 3}
                changes.sort(key=lambda c: order[c.action])
            self._apply_kind(kind, changes)
        return self.report

    def precheck(self, plan: Plan) -> None:
        """What the server checks before anything is applied (``plan`` runs it too).

        Every stack to create or update: its Compose files validated by the server, or its
        Git source supported by the client (see :data:`GIT_DEPLOY`).

        Raises:
            InvalidInputError: Naming the fleet file's line and the Compose file's.
        """
        for change in plan.of("stacks"):
            desired = change.desired or {}
            if change.action == "delete":
                continue
            if "git" in desired and getattr(self.client, GIT_DEPLOY, None) is None:
                raise InvalidInputError(
                    f"{change.where}: stack {change.key!r}: Git sources are not available "
                    "with this client and server yet",
                    hint="give the stack's files inline (files:) for now",
                )
            if "files" not in desired:
                continue
            answer = self.client.validate_stack(
                _files_of(change), (change.desired or {}).get("env_file"), stack=change.key
            )
            if not answer.get("ok", False):
                problems = answer.get("errors") or [{"message": "invalid"}]
                first = problems[0]
                raise InvalidInputError(
                    f"{change.where}: stack {change.key!r}: the server refused its files: "
                    f"{first.get('file') or ''}:{first.get('line') or ''} {first.get('message')}",
                    hint="nothing was applied; fix the file and plan again",
                )

    def _apply_kind(self, kind: str, changes: list[Change]) -> None:
        undo: list[Callable[[], object]] = []
        for change in changes:
            try:
                step = getattr(self, f"_{kind}")(change)
            except FleetdeckError as exc:
                undone = self._undo(undo)
                # The same kind of error (exit code, JSON kind), saying what was undone.
                raise type(exc)(
                    f"{change.where or kind}: {change.action} of {kind} {change.key!r} "
                    f"failed: {exc.message}; {undone} earlier {kind} change(s) undone",
                    hint="fix it and run apply again: what was applied stays and is not redone",
                ) from exc
            if step is not None:
                undo.append(step)
            self.report.done.append(f"{change.action}d {kind} {change.key!r}")

    @staticmethod
    def _undo(steps: list[Callable[[], object]]) -> int:
        count = 0
        for step in reversed(steps):
            try:
                step()
                count += 1
            except FleetdeckError:  # the error being reported matters more
                continue
        return count

    def _old(self, change: Change) -> dict[str, Any]:
        return {f.name: f.old for f in change.fields}

    def _new(self, change: Change) -> dict[str, Any]:
        return {k: v for k, v in (change.desired or {}).items() if not k.startswith("_")}

    # One method per kind: do the change, return how to undo it (None: cannot / not needed).
    def _environments(self, change: Change) -> Callable[[], object] | None:
        c, key, new = self.client, change.key, self._new(change)
        if change.action == "delete":
            c.delete_environment(key)
            return None
        if change.action == "create":
            if new.get("kind") == "local":
                c.create_environment(
                    key, new.get("tags"), new.get("groups"), kind="local",
                    docker_host=new.get("docker_host"),
                )  # fmt: skip
            else:
                c.create_environment(key, new.get("tags"), new.get("groups"))
                self.report.notes.append(
                    f"environment {key!r}: join agents with `fleetdeck env token {key}`"
                )
            return lambda: c.delete_environment(key)
        old = self._old(change)
        c.update_environment(key, new.get("tags"), new.get("groups"))
        return lambda: c.update_environment(key, old.get("tags"), old.get("groups"))

    def _registries(self, change: Change) -> Callable[[], object] | None:
        c, key, new = self.client, change.key, self._new(change)
        if change.action in ("delete", "replace"):
            c.delete_registry(key)
        if change.action == "delete":
            return None
        c.create_registry(key, new["url"], new.get("username"), new.get("password"))
        return (lambda: c.delete_registry(key)) if change.action == "create" else None

    def _users(self, change: Change) -> Callable[[], object] | None:
        c, key, new = self.client, change.key, self._new(change)
        if change.action == "delete":
            c.delete_user(key)
            return None
        role = Role(new["role"]) if "role" in new else None
        if change.action == "create":
            c.create_user(key, secrets.token_urlsafe(32), role or Role.viewer)
            if new.get("disabled"):
                c.update_user(key, disabled=True)
            self.report.notes.append(
                f"user {key!r} has a random password: set one with `fleetdeck users passwd {key}`"
            )
            return lambda: c.delete_user(key)
        old = self._old(change)
        c.update_user(key, role=role, disabled=new.get("disabled"))
        old_role = Role(old["role"]) if old.get("role") else None
        return lambda: c.update_user(key, role=old_role, disabled=old.get("disabled"))

    def _channels(self, change: Change) -> Callable[[], object] | None:
        c, key, new = self.client, change.key, self._new(change)
        if change.action == "delete":
            c.delete_channel(key)
            return None
        if change.action == "create":
            c.create_channel(
                key, new["url"], min_severity=new.get("min_severity", "info"),
                enabled=new.get("enabled", True),
            )  # fmt: skip
            return lambda: c.delete_channel(key)
        fields = {f.name: f.new for f in change.fields}
        c.update_channel(key, fields)
        old = {k: v for k, v in self._old(change).items() if k != "url"}
        return (lambda: c.update_channel(key, old)) if old else None

    def _rules(self, change: Change) -> Callable[[], object] | None:
        c, key, new = self.client, change.key, self._new(change)
        if change.action == "delete":
            c.delete_rule(key)
            return None
        if change.action == "create":
            c.create_rule({"name": key, **new})
            return lambda: c.delete_rule(key)
        c.update_rule(key, {f.name: f.new for f in change.fields})
        old = self._old(change)
        return lambda: c.update_rule(key, old)

    def _stacks(self, change: Change) -> Callable[[], object] | None:
        c, key, new = self.client, change.key, self._new(change)
        if change.action == "delete":
            c.remove_stack(key)
            return None
        if "git" in new:
            # The extension point for stacks from Git: the client method that deploys one.
            deploy_git = getattr(c, GIT_DEPLOY)
            events = deploy_git(key, new.get("environment"), new["git"])
        else:
            files = _files_of(change) if "files" in new else None
            events = c.deploy_stack(key, new.get("environment"), files, new.get("env_file"))
        result: dict[str, Any] = {}
        for event in events:
            if event.get("type") == "result":
                result = event
        if not result.get("ok", False):
            raise InvalidInputError(
                f"the deploy failed: {result.get('message') or 'no result'}"
                + (" (rolled back)" if result.get("rolled_back") else "")
            )
        return None  # a deploy is undone by the server's own automatic undo

    def _silences(self, change: Change) -> Callable[[], object] | None:
        c, new = self.client, self._new(change)
        if change.action in ("delete", "replace"):
            c.expire_silence(self.live.ids[("silences", change.key)])
        if change.action == "delete":
            return None
        made = c.create_silence(
            change.key.split(","), ends_at=new["ends_at"], starts_at=new.get("starts_at"),
            comment=new.get("comment", ""),
        )  # fmt: skip
        return (lambda: c.expire_silence(made.id)) if change.action == "create" else None

    def _maintenance(self, change: Change) -> Callable[[], object] | None:
        c, new = self.client, self._new(change)
        if change.action in ("delete", "replace"):
            c.end_maintenance(self.live.ids[("maintenance", change.key)])
        if change.action == "delete":
            return None
        environment, _, reason = change.key.partition("/")
        made = c.create_maintenance(
            environment, ends_at=new["ends_at"], starts_at=new.get("starts_at"), reason=reason
        )
        return (lambda: c.end_maintenance(made.id)) if change.action == "create" else None

    def _heal(self, change: Change) -> Callable[[], object] | None:
        c, key = self.client, change.key
        if change.action == "delete":
            c.delete_heal_policy(key)
            return None
        had = self.live.objects["heal"].get(key)
        c.set_heal_policy(key, {**(had or {}), **self._new(change)})
        if had is None:
            return lambda: c.delete_heal_policy(key)
        return lambda: c.set_heal_policy(key, had)

    def _autoscale(self, change: Change) -> Callable[[], object] | None:
        c, (scope, service) = self.client, change.key.split("/", 1)
        if change.action == "delete":
            c.remove_autoscale(scope, service)
            return None
        had = self.live.objects["autoscale"].get(change.key)
        body = {k: v for k, v in {**(had or {}), **self._new(change)}.items() if v is not None}
        c.set_autoscale(scope, service, body)
        if had is None:
            return lambda: c.remove_autoscale(scope, service)
        old = {k: v for k, v in had.items() if v is not None}
        return lambda: c.set_autoscale(scope, service, old)


def apply_plan(client: FleetdeckClient, live: Live, plan: Plan, order: list[str]) -> ApplyReport:
    """Apply ``plan`` (made from ``live``); see :class:`Applier`."""
    return Applier(client, live).apply(plan, order)
