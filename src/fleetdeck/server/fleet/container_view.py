"""What a container's page shows of its configuration, from the engine's inspect document.

Environment values that look secret are masked here, on the server, so they never reach a
browser that has no business with them: by the variable's name (PASSWORD, SECRET, TOKEN,
KEY…), by a URL's embedded password, and, for a container of a fleetdeck stack, by the
stack's secret variables (their names, and any value that contains one of their values).
The same masking applies to the raw inspect document a viewer reads (:func:`masked_inspect`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

MASK = "••••••"
SECRET_NAME = re.compile(
    r"PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE|CERT|SALT|COOKIE|SESSION|DSN",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"://[^/@\s:]*:[^/@\s]+@")
#: A stack secret shorter than this is not looked for inside other values (too many hits).
_MIN_SECRET = 4


@dataclass(frozen=True)
class StackSecrets:
    """What is known to be secret of a stack: variable names and their values."""

    keys: frozenset[str] = frozenset()
    values: tuple[str, ...] = ()


def is_secret(key: str, value: str, stack: StackSecrets | None = None) -> bool:
    """Whether an environment variable's value is to be masked."""
    if SECRET_NAME.search(key) or _URL_PASSWORD.search(value):
        return True
    if stack is None:
        return False
    if key in stack.keys:
        return True
    return any(len(s) >= _MIN_SECRET and s in value for s in stack.values)


def masked_env(env: Collection[str], stack: StackSecrets | None = None) -> list[str]:
    """``KEY=VALUE`` entries with secret-looking values replaced by :data:`MASK`."""
    out = []
    for entry in env:
        key, sep, value = entry.partition("=")
        out.append(f"{key}={MASK}" if sep and is_secret(key, value, stack) else entry)
    return out


def masked_inspect(inspect: dict[str, Any], stack: StackSecrets | None = None) -> dict[str, Any]:
    """The inspect document with ``Config.Env`` masked (for a viewer)."""
    config = inspect.get("Config")
    if not isinstance(config, dict) or not config.get("Env"):
        return inspect
    return {**inspect, "Config": {**config, "Env": masked_env(config["Env"], stack)}}


@dataclass
class Overview:
    """The configuration sections of a container's page."""

    env: list[tuple[str, str, bool]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    networks: list[dict[str, Any]] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)
    command: str = ""
    entrypoint: str = ""
    restart: str = "no"
    network_mode: str = ""


def _words(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value or "")


def _ports(ports: Mapping[str, Any] | None) -> list[str]:
    out = []
    for private, bindings in sorted((ports or {}).items()):
        if not bindings:
            out.append(private)
            continue
        for b in bindings:
            host = f"{b.get('HostIp') or '0.0.0.0'}:{b.get('HostPort')}"  # noqa: S104 - text
            out.append(f"{host} → {private}")
    return out


def overview(inspect: Mapping[str, Any], stack: StackSecrets | None = None) -> Overview:
    """The page's sections of one inspect document (env masked)."""
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    settings = inspect.get("NetworkSettings") or {}
    env = []
    for entry in config.get("Env") or []:
        key, _, value = str(entry).partition("=")
        secret = is_secret(key, value, stack)
        env.append((key, MASK if secret else value, secret))
    mounts = [
        {
            "type": m.get("Type") or "",
            "source": m.get("Name") or m.get("Source") or "",
            "target": m.get("Destination") or "",
            "rw": bool(m.get("RW", True)),
        }
        for m in inspect.get("Mounts") or []
    ]
    networks = [
        {
            "name": name,
            "ip": ep.get("IPAddress") or "",
            "ipv6": ep.get("GlobalIPv6Address") or "",
            "aliases": [a for a in ep.get("Aliases") or [] if a != str(inspect.get("Id"))[:12]],
        }
        for name, ep in sorted((settings.get("Networks") or {}).items())
    ]
    policy = host.get("RestartPolicy") or {}
    restart = policy.get("Name") or "no"
    if restart == "on-failure" and policy.get("MaximumRetryCount"):
        restart += f" (at most {policy['MaximumRetryCount']} times)"
    return Overview(
        env=env,
        mounts=mounts,
        networks=networks,
        ports=_ports(settings.get("Ports")),
        command=_words(config.get("Cmd")),
        entrypoint=_words(config.get("Entrypoint")),
        restart=restart,
        network_mode=str(host.get("NetworkMode") or ""),
    )


async def stack_secrets(stacks: Any, environment: str, stack: str | None) -> StackSecrets | None:
    """The secret variables of the fleetdeck stack ``stack`` deploys to ``environment``.

    None when the container is of no fleetdeck stack (or the server runs without stacks).
    ``stacks`` is the server's :class:`~fleetdeck.server.stacks.service.StackService`.
    """
    if stacks is None or not stack:
        return None
    stored = await stacks.repo.find(stack)
    if stored is None or stored.environment != environment:
        return None
    secret = [v for v in await stacks.repo.variables(stored) if v.secret]
    values = stacks.repo.opened(stored.name, secret)
    return StackSecrets(keys=frozenset(v.key for v in secret), values=tuple(values.values()))
