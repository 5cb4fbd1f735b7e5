"""The fleet part of the server: environments, enrolment, agent links, inventory, operations.

The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` / :func:`stop`
from its lifespan, after the store, CA and TLS material exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import APIRouter

from fleetdeck.server.fleet import (
    api_container_ops,
    api_containers,
    api_environments,
    api_resources,
    api_swarm,
)
from fleetdeck.server.fleet.links import ClientTLS
from fleetdeck.server.fleet.local import LocalAgentSupervisor
from fleetdeck.server.fleet.local_envs import LocalEnvironments
from fleetdeck.server.fleet.repository import SqlFleetRepository
from fleetdeck.server.fleet.service import Fleet

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.pki import CertificateAuthority
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.store import Store
    from fleetdeck.server.tls import ServerTLS

router = APIRouter()
router.include_router(api_environments.router)
router.include_router(api_container_ops.router)  # before api_containers' /{ref}/{action}
router.include_router(api_containers.router)
router.include_router(api_resources.router)
router.include_router(api_swarm.router)


async def start(
    settings: ServerSettings,
    store: Store,
    ca: CertificateAuthority,
    server_tls: ServerTLS,
    clock: Clock,
    loops: LoopRegistry,
) -> Fleet:
    """Create the fleet, load environments, start local agents, and follow every agent."""
    # The server's own certificate (CN fleetdeck-server) is its client certificate to agents.
    tls = ClientTLS(
        ca_cert=server_tls.ca_cert_path, cert=server_tls.cert_path, key=server_tls.key_path
    )
    ttl = timedelta(minutes=settings.join_token_ttl_minutes)
    fleet = Fleet(SqlFleetRepository(store), ca, tls, join_token_ttl=ttl, clock=clock, loops=loops)
    # Local environments: the server runs their agents as children, state in the data dir.
    supervisor = LocalAgentSupervisor(settings.data_dir / "local-agents", loops=loops)
    fleet.local = LocalEnvironments(fleet, supervisor)
    await fleet.start()
    return fleet


async def stop(fleet: Fleet) -> None:
    """Close every agent link and stop the agents of local environments."""
    await fleet.stop()
