"""Every Docker label key fleetdeck reads or writes, and the facts derived from them.

Compose labels the containers, networks and volumes it makes with ``com.docker.compose.*``,
``docker stack deploy`` and Swarm label services and task containers with
``com.docker.stack.*`` / ``com.docker.swarm.*``, and fleetdeck labels what it deploys with
``io.fleetdeck.*`` (docs/stacks.md, "Labels"). Each key is defined here once, and a container's
stack and service are derived here once (:func:`stack_of`, :func:`service_of`), so the agent's
inventory, the stack listing and adoption cannot disagree about which stack a container is in.

Standard library only: the agent imports it, and the agent never imports the server's
dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

# Compose (docker compose and docker-compose 1.x, which fleetdeck's host stacks mimic).
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_NUMBER = "com.docker.compose.container-number"
COMPOSE_ONEOFF = "com.docker.compose.oneoff"
COMPOSE_CONFIG_HASH = "com.docker.compose.config-hash"
COMPOSE_WORKING_DIR = "com.docker.compose.project.working_dir"
COMPOSE_CONFIG_FILES = "com.docker.compose.project.config_files"
COMPOSE_VERSION = "com.docker.compose.version"
COMPOSE_NETWORK = "com.docker.compose.network"
COMPOSE_VOLUME = "com.docker.compose.volume"

# Swarm stacks (docker stack deploy) and the task containers Swarm runs.
STACK_NAMESPACE = "com.docker.stack.namespace"
STACK_IMAGE = "com.docker.stack.image"
SWARM_SERVICE = "com.docker.swarm.service.name"
SWARM_TASK_ID = "com.docker.swarm.task.id"
#: ``SERVICE.SLOT.TASKID`` (replicated) or ``SERVICE.NODEID.TASKID`` (global): a task's slot.
SWARM_TASK_NAME = "com.docker.swarm.task.name"

# fleetdeck's own, on what it deploys.
#: The stack revision a container was deployed from.
FLEETDECK_REVISION = "io.fleetdeck.stack.revision"
#: Per-key HMACs of a host container's configuration (JSON), for "config changed: which keys".
FLEETDECK_CONFIG_KEYS = "io.fleetdeck.stack.config-keys"
#: A Swarm service's fingerprint of what fleetdeck sent (JSON).
FLEETDECK_FINGERPRINT = "io.fleetdeck.stack.fingerprint"
#: The Compose key of a Swarm network, secret or config fleetdeck made.
FLEETDECK_KEY = "io.fleetdeck.stack.key"

#: Where a container's stack is read from, first non-empty wins.
STACK_KEYS = (COMPOSE_PROJECT, STACK_NAMESPACE)
#: Where a container's service is read from, first non-empty wins.
SERVICE_KEYS = (COMPOSE_SERVICE, SWARM_SERVICE)


def _first(labels: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = labels.get(key)
        if value:
            return value
    return None


def stack_of(labels: Mapping[str, str]) -> str | None:
    """The stack a container (or network, volume) belongs to, from its labels; None if none.

    The Compose project comes first, then the Swarm stack namespace; an empty value counts as
    absent. Docker never sets both on one container (a Swarm task carries only the namespace),
    so the order only matters for a container someone labelled by hand with both; the Compose
    project wins there because it is what the agent has always reported as ``stack``.
    """
    return _first(labels, STACK_KEYS)


def service_of(labels: Mapping[str, str]) -> str | None:
    """The service a container runs, from its labels; None if none.

    The Compose service first, then the Swarm service name (which Swarm writes as
    ``STACK_SERVICE``, the stack's name included); an empty value counts as absent.
    """
    return _first(labels, SERVICE_KEYS)
