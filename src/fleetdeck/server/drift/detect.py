"""Live versus desired, per service: pure functions over what the inventory and the Swarm show.

Plain hosts: the desired revision's per-service config hash, per-key hashes and replica count
(:mod:`.desired`) against the stack's containers in the server's in-memory inventory (their
Compose labels carry fleetdeck's config hash and per-key hashes, see
:mod:`fleetdeck.server.stacks.host.spec`), so a sweep costs no engine call. A container
without fleetdeck's hashes was made by hand (``docker run --label
com.docker.compose.project=…``); a missing one was removed (``docker rm``).

Swarm: Swarm rewrites some keys of the specs it stores (defaults, network ids), so a live
spec's fingerprint is not always the one fleetdeck sent (its fingerprint label). A key drifted
when its live hash is neither the sent one nor the service's *baseline*: the fingerprint of
the live spec the first time it is seen carrying that label (the rewritten keys move to their
live value after each deploy that re-sent the service). So a hand-made change (``docker
service update --env-add``) is told apart from Swarm's rewriting, naming the keys.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck import labels as docker_labels
from fleetdeck.server.stacks.host.spec import changed_keys
from fleetdeck.server.stacks.swarm.compare import fingerprint, image_of, replicas_of
from fleetdeck.server.stacks.swarm.spec import FINGERPRINT

if TYPE_CHECKING:
    from fleetdeck.server.drift.desired import DesiredStack
    from fleetdeck.wire.containers import EngineContainer

#: Docker's default ``StopGracePeriod`` the docker CLI writes into a spec it updates: not a
#: change anybody made.
_DEFAULT_GRACE_NS = 10_000_000_000


@dataclass(frozen=True)
class Difference:
    """One way a service differs from its desired state (``what``: the kind, for machines)."""

    what: str  # missing | extra | config | image | replicas | removed_service | extra_service
    message: str
    container: str | None = None


@dataclass
class ServiceDrift:
    """A service's differences (empty: in sync)."""

    service: str
    differences: list[Difference] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{service, drifted, differences: [{what, message, container}]}``."""
        return {
            "service": self.service,
            "drifted": bool(self.differences),
            "differences": [asdict(d) for d in self.differences],
        }


def _is_ours(container: EngineContainer) -> bool:
    keys = container.labels.get(docker_labels.FLEETDECK_CONFIG_KEYS)
    return bool(container.labels.get(docker_labels.COMPOSE_CONFIG_HASH)) and bool(keys)


def _key_hashes(container: EngineContainer) -> dict[str, str]:
    try:
        value = json.loads(container.labels.get(docker_labels.FLEETDECK_CONFIG_KEYS) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _retired(container: EngineContainer) -> bool:
    """Renamed ``<id12>_NAME`` by a rolling update that is still retiring it."""
    return container.name.startswith(f"{container.id[:12]}_")


def host_drift(desired: DesiredStack, containers: list[EngineContainer]) -> list[ServiceDrift]:
    """Every service of a plain-host stack, desired ones first, then extra ones."""
    by_service: dict[str, list[EngineContainer]] = {}
    for container in containers:
        if _retired(container) or container.labels.get(docker_labels.COMPOSE_ONEOFF) == "True":
            continue
        service = docker_labels.service_of(container.labels) or ""
        by_service.setdefault(service, []).append(container)
    result: list[ServiceDrift] = []
    for name, want in sorted(desired.services.items()):
        drift = ServiceDrift(name)
        live = sorted(by_service.pop(name, []), key=lambda c: c.name)
        ours = [c for c in live if _is_ours(c)]
        for c in live:
            if c in ours:
                if c.labels.get(docker_labels.COMPOSE_CONFIG_HASH) != want.config_hash:
                    keys = changed_keys(_key_hashes(c), want.key_hashes) or ["(unknown)"]
                    message = f"container {c.name}: config differs: {', '.join(keys)}"
                    drift.differences.append(Difference("config", message, c.name))
                continue
            message = f"container {c.name} was added by hand (no fleetdeck config hash)"
            drift.differences.append(Difference("extra", message, c.name))
            if want.image and c.image_ref != want.image:
                message = f"container {c.name}: image {c.image_ref} (desired {want.image})"
                drift.differences.append(Difference("image", message, c.name))
        if want.replicas is not None and len(ours) != want.replicas:
            what = "missing" if len(ours) < want.replicas else "extra"
            message = f"{len(ours)} of {want.replicas} replica(s) exist"
            if what == "missing":
                message += " (removed by hand?)"
            drift.differences.append(Difference(what, message))
        result.append(drift)
    for name, extra in sorted(by_service.items()):
        label = name or "(no service label)"
        names = ", ".join(sorted(c.name for c in extra))
        message = f"not in the deployed revision: container(s) {names}"
        result.append(ServiceDrift(label, [Difference("extra_service", message)]))
    return result


def live_fingerprint(spec: dict[str, Any]) -> dict[str, str]:
    """A live spec's fingerprint plus its image, ignoring what the docker CLI fills in."""
    template = dict(spec.get("TaskTemplate") or {})
    container = dict(template.get("ContainerSpec") or {})
    if container.get("StopGracePeriod") == _DEFAULT_GRACE_NS:
        container.pop("StopGracePeriod")
    template["ContainerSpec"] = container
    prints = fingerprint({**spec, "TaskTemplate": template})
    prints["image"] = image_of(spec)
    return prints


def label_of(spec: dict[str, Any]) -> str:
    """The fingerprint label fleetdeck put on a service ("" for a service made by hand)."""
    return str((spec.get("Labels") or {}).get(FINGERPRINT) or "")


def swarm_drift(
    desired: DesiredStack,
    services: list[dict[str, Any]],
    baselines: dict[str, dict[str, Any]],
    *,
    deployed: bool = False,
) -> tuple[list[ServiceDrift], dict[str, dict[str, Any]]]:
    """Every service of a Swarm stack, and the baselines to keep (see the module).

    A service whose fingerprint label changed was sent again by fleetdeck: what runs now is
    its new baseline. ``deployed``: a deploy (or revert) ended since the last look, so a
    service whose spec version moved since then was sent by it (a revert sends the same
    spec, hence the same label, again): the keys Swarm rewrites take their live value.
    """
    prefix = f"{desired.stack}_"
    live = {str((s.get("Spec") or {}).get("Name", "")).removeprefix(prefix): s for s in services}
    kept: dict[str, dict[str, Any]] = {}
    result: list[ServiceDrift] = []
    for name, want in sorted(desired.services.items()):
        drift = ServiceDrift(name)
        result.append(drift)
        service = live.pop(name, None)
        if service is None:
            message = "the service does not exist (removed by hand?)"
            drift.differences.append(Difference("removed_service", message))
            continue
        spec: dict[str, Any] = service.get("Spec") or {}
        version = (service.get("Version") or {}).get("Index")
        label, prints = label_of(spec), live_fingerprint(spec)
        sent = _sent(label)
        base = baselines.get(name)
        if not label:
            message = "the service was replaced by one made outside fleetdeck"
            drift.differences.append(Difference("config", message))
        elif base is None or base.get("label") != label:
            base = {"label": label, "live": prints}
        elif deployed and base.get("version") != version:
            base = {"label": label, "live": _rebased(base["live"], prints, sent)}
        if base is not None:
            kept[name] = {**base, "version": version}
            drift.differences.extend(_changed(base["live"], prints, sent, spec))
        count = replicas_of(spec)
        if want.replicas is not None and "Replicated" in (spec.get("Mode") or {}):
            if count != want.replicas:
                message = f"replicas {count} (desired {want.replicas})"
                drift.differences.append(Difference("replicas", message))
    for name in sorted(live):
        message = "a service of the stack's namespace not in the deployed revision"
        result.append(ServiceDrift(name, [Difference("extra_service", message)]))
    return result, kept


def _sent(label: str) -> dict[str, str]:
    """The per-key hashes of the spec fleetdeck sent (its fingerprint label)."""
    try:
        value = json.loads(label) if label else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _keys(*prints: dict[str, str]) -> list[str]:
    return sorted({key for each in prints for key in each})


def _rebased(before: dict[str, str], now: dict[str, str], sent: dict[str, str]) -> dict[str, str]:
    """After a deploy: keys Swarm rewrites (baseline unlike what was sent) take the live value.

    Keys Swarm stores as sent (the environment, the command…) are judged against what was
    sent, so a hand-made change to one of them during a deploy is still drift afterwards.
    """
    rebased = {
        key: now.get(key) if before.get(key) != sent.get(key) else before.get(key)
        for key in _keys(before, now)
    }
    return {key: value for key, value in rebased.items() if value is not None}


def _changed(
    before: dict[str, str], now: dict[str, str], sent: dict[str, str], spec: dict[str, Any]
) -> list[Difference]:
    """A key drifted when it is neither what was sent nor the baseline (Swarm's rewrite)."""
    keys = [
        key
        for key in _keys(before, now)
        if now.get(key) != before.get(key) and now.get(key) != sent.get(key)
    ]
    found: list[Difference] = []
    if "image" in keys:
        keys.remove("image")
        message = f"image {image_of(spec)} (deployed {before.get('image')})"
        found.append(Difference("image", message))
    if keys:
        found.append(Difference("config", f"changed by hand: {', '.join(keys)}"))
    return found
