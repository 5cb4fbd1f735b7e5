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

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.stacks.swarm_spec import NAMESPACE, network_names

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fleetdeck.compose import Project
    from fleetdeck.compose.model import IpamPool

#: Label naming the project key of a secret or config (its Swarm name has a hash suffix).
KEY_LABEL = "io.fleetdeck.stack.key"
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


def secrets_needed(
    project: Project, stack: str, values: Mapping[str, bytes], hash_key: bytes = b""
) -> dict[str, DataObject]:
    """The secrets the services use, with their values (from the deploy, else their file).

    ``values`` is the deploy's decrypted values, keyed ``secret:NAME`` / ``config:NAME``.
    """
    used = {ref.source for service in project.services.values() for ref in service.secrets}
    result: dict[str, DataObject] = {}
    for key in sorted(used):
        secret = project.secrets.get(key)
        if secret is None:
            raise InvalidInputError(f"secret {key!r} is used by a service but not declared")
        if secret.external:
            result[key] = DataObject(key, secret.name or key, external=True)
            continue
        if f"secret:{key}" in values:
            data = values[f"secret:{key}"]
        elif secret.file:
            data = _read(secret.file, f"secret {key!r}")
        else:
            source = f"variable {secret.environment}" if secret.environment else "a value"
            raise InvalidInputError(
                f"secret {key!r} has no value: set {source} for the stack",
                hint="fleetdeck stack variables hold secret values encrypted",
            )
        name = content_name(stack, key, data, hash_key)
        result[key] = DataObject(key, name, external=False, data=data)
    return result


def configs_needed(
    project: Project, stack: str, values: Mapping[str, bytes], hash_key: bytes = b""
) -> dict[str, DataObject]:
    """The configs the services use, with their content (inline, file, or the deploy's value)."""
    used = {ref.source for service in project.services.values() for ref in service.configs}
    result: dict[str, DataObject] = {}
    for key in sorted(used):
        config = project.configs.get(key)
        if config is None:
            raise InvalidInputError(f"config {key!r} is used by a service but not declared")
        if config.external:
            result[key] = DataObject(key, config.name or key, external=True)
            continue
        if config.content is not None:
            data = config.content.encode()
        elif config.file:
            data = _read(config.file, f"config {key!r}")
        elif f"config:{key}" in values:
            data = values[f"config:{key}"]
        else:
            raise InvalidInputError(f"config {key!r} has no content, file or value")
        name = content_name(stack, key, data, hash_key)
        result[key] = DataObject(key, name, external=False, data=data)
    return result


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
