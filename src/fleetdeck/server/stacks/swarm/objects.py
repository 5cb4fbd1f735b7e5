"""A stack's overlay networks, secrets and configs on a Swarm: names, labels and content.

Swarm secrets and configs are immutable, so each gets a content-addressed name
(``STACK_KEY_<hash8>``): a changed value is a new object, services are updated onto it, and
the old one is removed once nothing uses it. An unchanged value keeps its name, so an
unchanged re-deploy touches nothing. Values are read here only to be sent to the manager; they
never enter a plan, an event or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fleetdeck.labels
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.stacks.swarm.spec import NAMESPACE, network_names

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from fleetdeck.compose import Config, Project, Secret
    from fleetdeck.compose.model import IpamPool

#: Label naming the project key of a secret or config (its Swarm name has a hash suffix).
KEY_LABEL = fleetdeck.labels.FLEETDECK_KEY
_NAME_MAX = 64


@dataclass(frozen=True)
class DataObject:
    """One secret or config the stack needs."""

    key: str
    name: str
    external: bool
    data: bytes = field(default=b"", repr=False)

    def labels(self, stack: str) -> dict[str, str]:
        """Labels for a new object (``docker stack`` reads the namespace)."""
        return {NAMESPACE: stack, KEY_LABEL: self.key}


@dataclass(frozen=True)
class NetworkObject:
    """One overlay network the stack needs."""

    key: str
    name: str
    external: bool
    body: dict[str, Any] = field(default_factory=dict)


def content_name(stack: str, key: str, data: bytes, hash_key: bytes = b"") -> str:
    """``STACK_KEY_<hash8>``: the same bytes always give the same name (keyed HMAC)."""
    digest = hmac.new(hash_key, data, hashlib.sha256).hexdigest()[:8]
    prefix = f"{stack}_{key}"[: _NAME_MAX - 9]
    return f"{prefix}_{digest}"


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"{what}: cannot read {path}: {exc.strerror}") from None


def _secret_value(key: str, secret: Secret, values: Mapping[str, bytes]) -> bytes:
    if f"secret:{key}" in values:
        return values[f"secret:{key}"]
    if secret.file:
        return _read(secret.file, f"secret {key!r}")
    source = f"variable {secret.environment}" if secret.environment else "a value"
    raise InvalidInputError(
        f"secret {key!r} has no value: set {source} for the stack",
        hint="fleetdeck stack variables hold secret values encrypted",
    )


def _config_value(key: str, config: Config, values: Mapping[str, bytes]) -> bytes:
    if config.content is not None:
        return config.content.encode()
    if config.file:
        return _read(config.file, f"config {key!r}")
    if f"config:{key}" in values:
        return values[f"config:{key}"]
    raise InvalidInputError(f"config {key!r} has no content, file or value")


def _needed(
    kind: str,
    declared: Mapping[str, Secret | Config],
    used: set[str],
    stack: str,
    value_of: Callable[[str, Any], bytes],
    hash_key: bytes,
) -> dict[str, DataObject]:
    result: dict[str, DataObject] = {}
    for key in sorted(used):
        item = declared.get(key)
        if item is None:
            raise InvalidInputError(f"{kind} {key!r} is used by a service but not declared")
        if item.external:
            result[key] = DataObject(key, item.name or key, external=True)
            continue
        data = value_of(key, item)
        name = content_name(stack, key, data, hash_key)
        result[key] = DataObject(key, name, external=False, data=data)
    return result


def secrets_needed(
    project: Project, stack: str, values: Mapping[str, bytes], hash_key: bytes = b""
) -> dict[str, DataObject]:
    """The secrets the services use, with their values (from the deploy, else their file).

    ``values`` is the deploy's decrypted values, keyed ``secret:NAME`` / ``config:NAME``.
    """
    used = {ref.source for service in project.services.values() for ref in service.secrets}
    return _needed(
        "secret",
        project.secrets,
        used,
        stack,
        lambda key, item: _secret_value(key, item, values),
        hash_key,
    )


def configs_needed(
    project: Project, stack: str, values: Mapping[str, bytes], hash_key: bytes = b""
) -> dict[str, DataObject]:
    """The configs the services use, with their content (inline, file, or the deploy's value)."""
    used = {ref.source for service in project.services.values() for ref in service.configs}
    return _needed(
        "config",
        project.configs,
        used,
        stack,
        lambda key, item: _config_value(key, item, values),
        hash_key,
    )


def _pool(pool: IpamPool) -> dict[str, Any]:
    values = {
        "Subnet": pool.subnet,
        "IPRange": pool.ip_range,
        "Gateway": pool.gateway,
        "AuxiliaryAddresses": dict(pool.aux_addresses) or None,
    }
    return {k: v for k, v in values.items() if v}


def networks_needed(project: Project, stack: str) -> dict[str, NetworkObject]:
    """The networks the services join (the implicit ``default`` one included)."""
    names = network_names(project, stack)
    used = {
        key for service in project.services.values() for key in (service.networks or {"default"})
    }
    result: dict[str, NetworkObject] = {}
    for key in sorted(used):
        network = project.networks.get(key)
        if network is None:
            raise InvalidInputError(f"network {key!r} is used by a service but not declared")
        if network.external:
            result[key] = NetworkObject(key, names[key], external=True)
            continue
        body: dict[str, Any] = {
            "name": names[key],
            "labels": {**network.labels, NAMESPACE: stack},
            "driver": network.driver or "overlay",
            # Attachable so one-off containers (debugging, load tests) can join the stack.
            "attachable": True if network.attachable is None else network.attachable,
            "internal": bool(network.internal),
            "options": dict(network.driver_opts),
        }
        if network.ipam is not None:
            body["ipam"] = {
                "Driver": network.ipam.driver or "default",
                "Config": [_pool(pool) for pool in network.ipam.config],
            }
        result[key] = NetworkObject(key, names[key], external=False, body=body)
    return result
