"""The plan: what ``apply`` would create, update and delete, per object and per field.

Both sides are brought to one comparable shape per kind (:func:`normalize` for the files,
:mod:`fleetdeck.fleetfile.live` for the server), then compared field by field. Only the
fields an object sets are compared: leaving a key out never changes or clears it, and
leaving an object out deletes it only in a kind listed under ``managed``. References
(a stack's environment, a rule's channels, a window's environment, a heal layer's stack,
``depends_on``) must name something that exists after the plan, and ``depends_on`` must not
loop; either fails naming the file and line, before anything is applied.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.durations import parse_seconds
from fleetdeck.errors import InvalidInputError
from fleetdeck.fleetfile.loader import identity, resolve_secret, stack_file_bytes
from fleetdeck.fleetfile.model import KINDS

if TYPE_CHECKING:
    from pydantic import BaseModel

    from fleetdeck.fleetfile.loader import Desired, Origin

#: Fields shown as ``(sensitive)`` in a plan, never in clear.
SENSITIVE = {("registries", "password"), ("channels", "url")}
#: Fields compared as sets (the server keeps its own order).
_SETS = {"tags", "groups", "environments", "stacks", "labels", "channels", "matchers"}
_DURATIONS = {"window", "for", "repeat", "grace", "backoff", "backoff_max", "reset_after",
              "stop_timeout"}  # fmt: skip
#: The field an object is known by, when not ``name`` (see ``loader.identity``).
_KEY_FIELD = {
    "users": "username", "heal": "target", "silences": "matchers", "autoscale": "service",
}  # fmt: skip
#: Write-only fields: sent on create, never read back, so never compared.
_WRITE_ONLY = {("registries", "password")}


@dataclass
class Live:
    """The server's side, normalized like :func:`normalize` (one dict per object and kind).

    ``ids`` holds what deletes need beyond the key (a silence's or window's id);
    ``protected`` the keys never pruned (built-in rules, the caller's own user).
    """

    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )
    ids: dict[tuple[str, str], str] = field(default_factory=dict)
    protected: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class FieldChange:
    """One field of one object: its value now (None: absent) and after apply."""

    name: str
    old: Any
    new: Any


@dataclass
class Change:
    """One object created, updated (in place, or ``replace`` when the API cannot) or deleted."""

    kind: str
    key: str
    action: str  # create | update | replace | delete
    fields: list[FieldChange]
    desired: dict[str, Any] | None = None
    where: str | None = None


@dataclass
class Plan:
    """Every change, in apply order (kinds in :data:`KINDS` order, prunes last, reversed)."""

    changes: list[Change]
    managed: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing to do."""
        return not self.changes

    def of(self, kind: str) -> list[Change]:
        """The changes of one kind."""
        return [c for c in self.changes if c.kind == kind]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _seconds(value: Any, name: str, where: str) -> float | None:
    try:
        return parse_seconds(value, name)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}: {exc.message}", hint=exc.hint) from None


def normalize(kind: str, spec: BaseModel, origin: Origin, root: Any) -> dict[str, Any]:
    """The comparable form of a fleet-file object: only the fields it sets, values resolved.

    Durations become seconds, lists that are sets are sorted, stack files become their
    SHA-256 (the content is kept under ``_files`` for apply), secrets are resolved.

    Raises:
        InvalidInputError: A duration or a secret reference that does not resolve.
    """
    data = spec.model_dump(by_alias=True, exclude_unset=True)
    data.pop(_KEY_FIELD.get(kind, "name"), None)
    for name in list(data):
        value = data[name]
        if name in _DURATIONS:
            data[name] = _seconds(value, name, origin.where(name))
        elif name in _SETS and isinstance(value, list):
            data[name] = sorted(value)
        elif (kind, name) in SENSITIVE and value is not None:
            data[name] = resolve_secret(root, getattr(spec, name), origin.where(name))
    if kind in ("silences", "maintenance"):
        for name in ("starts_at", "ends_at"):
            if name in data:
                data[name] = data[name].astimezone(UTC) if data[name] else None
        data.setdefault("comment" if kind == "silences" else "reason", "")
    if kind == "stacks":
        files: dict[str, Any] = getattr(spec, "files", None) or {}
        if files:
            contents = {name: stack_file_bytes(root, value) for name, value in files.items()}
            data["files"] = {name: _sha(content) for name, content in contents.items()}
            data["_files"] = contents
        data.pop("depends_on", None)
    return data


def compare_value(kind: str, name: str, want: Any, have: Any) -> bool:
    """Whether a desired field already holds (channel URLs compare as the server masks them)."""
    if (kind, name) == ("channels", "url"):
        return _host_part(want) == _host_part(have)
    if isinstance(want, float | int) and isinstance(have, float | int):
        return float(want) == float(have)
    return bool(want == have)


def _host_part(url: Any) -> str:
    # The server shows a channel's URL as `scheme://host/***`; compare what both sides show.
    scheme, _, rest = str(url).partition("://")
    host = rest.split("/", 1)[0].rpartition("@")[2].partition(":")[0]
    return f"{scheme}://{host}" if "." in host or host == "localhost" else scheme


def _updates(kind: str, want: dict[str, Any], have: dict[str, Any]) -> list[FieldChange]:
    changes = []
    for name, value in want.items():
        if name.startswith("_") or (kind, name) in _WRITE_ONLY:
            continue
        if name not in have or not compare_value(kind, name, value, have[name]):
            changes.append(FieldChange(name, have.get(name), value))
    return changes


def _replaced(kind: str) -> bool:
    # The API has no update for these: a changed one is deleted and created again.
    return kind in ("registries", "silences", "maintenance")


def _still_on(kind: str, data: dict[str, Any], now: datetime) -> bool:
    if kind not in ("silences", "maintenance"):
        return True
    ends: datetime = data["ends_at"]
    return ends > now


def make_plan(desired: Desired, live: Live, *, now: datetime) -> Plan:
    """Compare the files with the server: every change, checked references, no cycles.

    Raises:
        InvalidInputError: Naming ``FILE:LINE``: a reference to nothing, a ``depends_on``
            cycle, a secret that does not resolve, an object the API cannot change so.
    """
    changes: list[Change] = []
    notes: list[str] = []
    wanted: dict[str, dict[str, tuple[dict[str, Any], Origin]]] = {k: {} for k in KINDS}
    for kind in KINDS:
        for spec, origin in desired.items(kind):
            data = normalize(kind, spec, origin, desired.root)
            wanted[kind][identity(kind, spec)] = (data, origin)
    for kind in KINDS:
        have_all = live.objects[kind]
        for key, (data, origin) in wanted[kind].items():
            if not _still_on(kind, data, now):
                notes.append(f"{origin.where()}: {kind} {key!r} is over (ends_at is past)")
                continue
            have = have_all.get(key)
            if have is None:
                fields = [FieldChange(n, None, v) for n, v in data.items() if not n.startswith("_")]
                changes.append(Change(kind, key, "create", fields, data, origin.where()))
                continue
            _check_unchangeable(kind, key, data, have, origin)
            fields = _updates(kind, data, have)
            if fields:
                action = "replace" if _replaced(kind) else "update"
                changes.append(Change(kind, key, action, fields, data, origin.where()))
    for kind in reversed(KINDS):
        globs = desired.managed.get(kind, [])
        for key, have in live.objects[kind].items():
            if key in wanted[kind] or (kind, key) in live.protected:
                continue
            if not any(fnmatch.fnmatchcase(key, glob) for glob in globs):
                continue
            fields = [FieldChange(n, v, None) for n, v in have.items() if not n.startswith("_")]
            changes.append(Change(kind, key, "delete", fields))
    plan = Plan(changes, dict(desired.managed), notes)
    check_references(desired, wanted, live, plan)
    return plan


def _check_unchangeable(
    kind: str, key: str, want: dict[str, Any], have: dict[str, Any], origin: Origin
) -> None:
    for name in ("kind", "docker_host") if kind == "environments" else ():
        if name in want and want[name] != have.get(name):
            raise InvalidInputError(
                f"{origin.where(name)}: environment {key!r} is {have.get(name)!r}; "
                f"its {name} cannot change",
                hint="remove it and create it again, or leave the key out",
            )


def _exists_after(kind: str, name: str, wanted: dict[str, Any], live: Live, plan: Plan) -> bool:
    if name in wanted[kind]:
        return True
    deleted = {c.key for c in plan.of(kind) if c.action == "delete"}
    return name in live.objects[kind] and name not in deleted


def check_references(
    desired: Desired, wanted: dict[str, dict[str, Any]], live: Live, plan: Plan
) -> None:
    """Every name an object refers to exists after the plan; ``depends_on`` has no cycle.

    Raises:
        InvalidInputError: Naming the file and line of the reference.
    """
    refs = {
        "stacks": (("environment", "environments"), ("depends_on", "stacks")),
        "rules": (("channels", "channels"), ("environments", "environments"), ("stacks", "stacks")),
        "maintenance": (("environment", "environments"),),
    }
    for kind, pairs in refs.items():
        for spec, origin in desired.items(kind):
            for field_name, target in pairs:
                value = getattr(spec, field_name, None)
                names = value if isinstance(value, list) else [value] if value else []
                for index, name in enumerate(names):
                    if _exists_after(target, name, wanted, live, plan):
                        continue
                    sub = (field_name, index) if isinstance(value, list) else (field_name,)
                    raise InvalidInputError(
                        f"{origin.where(*sub)}: {kind} {identity(kind, spec)!r} refers to "
                        f"{target} {name!r}, which does not exist"
                        + (" (it is pruned: not in the files)" if name in live.objects[target]
                           else ""),
                        hint=f"define it under `{target}:` or fix the name",
                    )  # fmt: skip
    for spec, origin in desired.items("heal"):
        target_name = str(getattr(spec, "target", ""))
        stack = target_name.split("/", 1)[0]
        if target_name != "default" and not _exists_after("stacks", stack, wanted, live, plan):
            raise InvalidInputError(
                f"{origin.where('target')}: heal policy {target_name!r} names stack "
                f"{stack!r}, which does not exist",
                hint="use default, STACK or STACK/SERVICE of a stack that exists",
            )
    for spec, origin in desired.items("autoscale"):
        scope = str(getattr(spec, "service", "")).split("/", 1)[0]
        if not any(_exists_after(k, scope, wanted, live, plan) for k in ("stacks", "environments")):
            raise InvalidInputError(
                f"{origin.where('service')}: autoscale policy {identity('autoscale', spec)!r} "
                f"names {scope!r}, which is neither a stack nor an environment",
                hint="use STACK/SERVICE of a managed stack or ENV/SERVICE of a Swarm",
            )
    stack_order(desired)


def stack_order(desired: Desired) -> list[str]:
    """The fleet file's stacks with each after its ``depends_on`` (a cycle is an error)."""
    specs = {identity("stacks", s): (s, o) for s, o in desired.items("stacks")}
    order: list[str] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2 or name not in specs:
            return
        spec, origin = specs[name]
        if state.get(name) == 1:
            loop = " -> ".join([*path[path.index(name) :], name])
            raise InvalidInputError(
                f"{origin.where('depends_on')}: depends_on has a cycle: {loop}",
                hint="a stack cannot depend on itself, even through others",
            )
        state[name] = 1
        for other in getattr(spec, "depends_on", []):
            visit(other, [*path, name])
        state[name] = 2
        order.append(name)

    for name in specs:
        visit(name, [])
    return order


# ------------------------------------------------------------------ rendering
_SIGN = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


def _shown(kind: str, name: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if (kind, name) in SENSITIVE:
        return "(sensitive)"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {str(v)[:12]}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, str) and "\n" in value:
        return f"({value.count(chr(10)) + 1} lines)"
    return repr(value)


def render(plan: Plan) -> list[str]:
    """The plan as Terraform-style lines (secrets masked), ending with a summary line."""
    lines: list[str] = []
    for change in plan.changes:
        sign = _SIGN[change.action]
        label = {"replace": "replaced"}.get(change.action, change.action + "d")
        lines.append(f"{sign} {change.kind} {change.key!r} will be {label}")
        for fc in change.fields:
            if change.action == "create":
                lines.append(f"    + {fc.name} = {_shown(change.kind, fc.name, fc.new)}")
            elif change.action == "delete":
                lines.append(f"    - {fc.name} = {_shown(change.kind, fc.name, fc.old)}")
            elif fc.name == "files" and isinstance(fc.new, dict):
                lines.extend(_file_lines(fc.old or {}, fc.new))
            else:
                old, new = (
                    _shown(change.kind, fc.name, fc.old),
                    _shown(change.kind, fc.name, fc.new),
                )
                lines.append(f"    ~ {fc.name}: {old} -> {new}")
    lines.extend(f"note: {note}" for note in plan.notes)
    counts = {a: sum(1 for c in plan.changes if c.action == a) for a in _SIGN}
    if plan.empty:
        lines.append("No changes. The fleet matches the files.")
    else:
        lines.append(
            f"Plan: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['replace']} to replace, {counts['delete']} to delete."
        )
    return lines


def _file_lines(old: dict[str, str], new: dict[str, str]) -> list[str]:
    out = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            out.append(f"    + files[{name!r}] (new file)")
        elif name not in new:
            out.append(f"    - files[{name!r}] (removed)")
        elif old[name] != new[name]:
            out.append(f"    ~ files[{name!r}]: sha256 {old[name][:12]} -> {new[name][:12]}")
    return out


def to_json(plan: Plan) -> dict[str, Any]:
    """The plan for ``-o json`` (secrets masked, stack contents left out)."""

    def shown(kind: str, name: str, value: Any) -> Any:
        if value is None or (kind, name) not in SENSITIVE:
            return value.isoformat() if isinstance(value, datetime) else value
        return "(sensitive)"

    return {
        "changes": [
            {
                "kind": c.kind,
                "key": c.key,
                "action": c.action,
                "where": c.where,
                "fields": [
                    {
                        "name": f.name,
                        "old": shown(c.kind, f.name, f.old),
                        "new": shown(c.kind, f.name, f.new),
                    }
                    for f in c.fields
                ],  # fmt: skip
            }
            for c in plan.changes
        ],
        "managed": plan.managed,
        "notes": plan.notes,
    }
