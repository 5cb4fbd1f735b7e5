"""Desired Swarm service specs versus the ones running: one :class:`Change` per service.

Swarm rewrites the specs it stores (fills defaults, reorders, renames), so comparing a
desired spec with an inspected one key by key would report changes that are not there. Instead
every service fleetdeck deploys carries a label with one short hash per Compose-level key of
the spec it sent (``environment``, ``volumes``, ``deploy.update_config``…): comparing those
hashes says exactly which keys changed, and the image is compared separately, digest against
digest, so "image digest changed" is told apart from "config changed".
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fleetdeck.server.stacks.plan import Action, Change
from fleetdeck.server.stacks.swarm.spec import FINGERPRINT, STACK_IMAGE
from fleetdeck.wire.containers import IMAGE_REF_LABEL

#: ContainerSpec keys → the Compose key people know them by.
_CONTAINER_KEYS = {
    "Env": "environment",
    "Args": "command",
    "Command": "entrypoint",
    "Mounts": "volumes",
    "Secrets": "secrets",
    "Configs": "configs",
    "HealthCheck": "healthcheck",
    "Labels": "labels",
    "Hosts": "extra_hosts",
    "DNSConfig": "dns",
    "User": "user",
    "Dir": "working_dir",
    "Hostname": "hostname",
    "ReadOnly": "read_only",
    "Init": "init",
    "TTY": "tty",
    "OpenStdin": "stdin_open",
    "StopSignal": "stop_signal",
    "StopGracePeriod": "stop_grace_period",
    "Sysctls": "sysctls",
    "CapabilityAdd": "cap_add",
    "CapabilityDrop": "cap_drop",
    "Ulimits": "ulimits",
    "Groups": "group_add",
}
_TEMPLATE_KEYS = {
    "Resources": "deploy.resources",
    "RestartPolicy": "deploy.restart_policy",
    "Placement": "deploy.placement",
    "Networks": "networks",
    "LogDriver": "logging",
}
_SERVICE_KEYS = {
    "UpdateConfig": "deploy.update_config",
    "RollbackConfig": "deploy.rollback_config",
    "EndpointSpec": "ports",
}


def _strip_ids(value: Any) -> Any:
    """Secret and config ids are new for every new object; their names identify content."""
    if isinstance(value, list):
        return [
            {k: v for k, v in item.items() if k not in ("SecretID", "ConfigID")}
            if isinstance(item, dict)
            else item
            for item in value
        ]
    return value


def _sections(spec: dict[str, Any]) -> dict[str, Any]:
    template = spec.get("TaskTemplate") or {}
    container = template.get("ContainerSpec") or {}
    sections: dict[str, Any] = {}
    for key, name in _CONTAINER_KEYS.items():
        sections[name] = _strip_ids(container.get(key))
    if sections["labels"]:  # the written tag follows the image: not a label change of its own
        sections["labels"] = {k: v for k, v in sections["labels"].items() if k != IMAGE_REF_LABEL}
    for key, name in _TEMPLATE_KEYS.items():
        sections[name] = template.get(key)
    for key, name in _SERVICE_KEYS.items():
        sections[name] = spec.get(key)
    labels = dict(spec.get("Labels") or {})
    labels.pop(FINGERPRINT, None)
    labels.pop(STACK_IMAGE, None)
    sections["deploy.labels"] = labels
    sections["deploy.mode"] = sorted((spec.get("Mode") or {}).keys())
    return sections


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def fingerprint(spec: dict[str, Any]) -> dict[str, str]:
    """One short hash per Compose-level key of a spec (unset keys left out)."""
    return {
        name: _digest(value)
        for name, value in _sections(spec).items()
        if value not in (None, [], {})
    }


def with_fingerprint(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with its fingerprint label added (what is sent to the manager)."""
    labels = {**(spec.get("Labels") or {}), FINGERPRINT: json.dumps(fingerprint(spec))}
    return {**spec, "Labels": labels}


def replicas_of(spec: dict[str, Any]) -> int:
    """The replica count a spec asks for (0 for a global service: it runs one per node)."""
    mode = spec.get("Mode") or {}
    replicated = mode.get("Replicated") or mode.get("ReplicatedJob") or {}
    return int(replicated.get("Replicas") or replicated.get("TotalCompletions") or 0)


def image_of(spec: dict[str, Any]) -> str:
    """The image a spec runs."""
    return str(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image") or "")


def _short(ref: str) -> str:
    if "@sha256:" in ref:
        return "sha256:" + ref.split("@sha256:", 1)[1][:12] + "…"
    return ref


def _image_reason(before: str, after: str) -> str:
    if before.split("@", 1)[0] == after.split("@", 1)[0]:
        return f"image digest changed: {_short(before)} → {_short(after)}"
    return f"image changed: {before.split('@', 1)[0]} → {after.split('@', 1)[0]}"


def _stored_fingerprint(spec: dict[str, Any]) -> dict[str, str] | None:
    raw = (spec.get("Labels") or {}).get(FINGERPRINT)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def compare(service: str, desired: dict[str, Any], existing: dict[str, Any] | None) -> Change:
    """What deploying ``desired`` does to the service now running as ``existing``."""
    after = replicas_of(desired)
    if existing is None:
        return Change(service, Action.create, "new service", 0, after)
    current = existing.get("Spec") or {}
    before = replicas_of(current)
    old, new = _stored_fingerprint(current), fingerprint(desired)
    image_before, image_after = image_of(current), image_of(desired)
    reasons: list[str] = []
    changed: list[str] = []
    if image_before != image_after:
        reasons.append(_image_reason(image_before, image_after))
    if old is None:
        reasons.append("not deployed by fleetdeck: its spec is replaced")
    else:
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if changed:
            reasons.append("config changed: " + ", ".join(changed))
    detail: dict[str, Any] = {"changed": changed}
    if image_before != image_after:
        detail.update(image_before=image_before, image_after=image_after)
    if reasons:
        return Change(service, Action.recreate, "; ".join(reasons), before, after, detail)
    if before != after:
        return Change(service, Action.scale, f"replicas {before} → {after}", before, after)
    return Change(service, Action.unchanged, "", before, after)


def removal(service: str, existing: dict[str, Any]) -> Change:
    """A service of the stack that the file no longer has."""
    before = replicas_of(existing.get("Spec") or {})
    return Change(service, Action.remove, "not in the stack file any more", before, 0)
