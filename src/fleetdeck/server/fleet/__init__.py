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
    from fastapi import FastAPI

router = APIRouter()
router.include_router(api_environments.router)
router.include_router(api_container_ops.router)  # before api_containers' /{ref}/{action}
router.include_router(api_containers.router)
router.include_router(api_resources.router)
router.include_router(api_swarm.router)


async def start(app: FastAPI) -> None:
    """Create the fleet, load environments, start local agents, and follow every agent."""
    server_tls = app.state.tls
    # The server's own certificate (CN fleetdeck-server) is its client certificate to agents.
    tls = ClientTLS(
        ca_cert=server_tls.ca_cert_path, cert=server_tls.cert_path, key=server_tls.key_path
    )
    ttl = timedelta(minutes=app.state.settings.join_token_ttl_minutes)
    fleet = Fleet(
        SqlFleetRepository(app.state.store), app.state.ca, tls, join_token_ttl=ttl,
        clock=app.state.clock, loops=app.state.loops,
    )  # fmt: skip
    # Local environments: the server runs their agents as children, state in the data dir.
    supervisor = LocalAgentSupervisor(
        app.state.settings.data_dir / "local-agents", loops=app.state.loops
    )
    fleet.local = LocalEnvironments(fleet, supervisor)
    app.state.fleet = fleet
    await fleet.start()


async def stop(app: FastAPI) -> None:
    """Close every agent link and stop the agents of local environments."""
    fleet: Fleet | None = getattr(app.state, "fleet", None)
    if fleet is not None:
        await fleet.stop()
