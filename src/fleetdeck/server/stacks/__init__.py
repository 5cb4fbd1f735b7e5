"""Stacks: Compose applications deployed, updated and rolled back on hosts and Swarms.

:mod:`.plan` is the contract between the stack service and the two appliers (plain host,
Swarm). The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` /
:func:`stop` from its lifespan, after the fleet started.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fleetdeck.server.secrets import load_master_key
from fleetdeck.server.stacks import api_adopt, api_allow, api_scale
from fleetdeck.server.stacks.allowances import AllowanceRepository
from fleetdeck.server.stacks.api import router
from fleetdeck.server.stacks.deploy import wait_running
from fleetdeck.server.stacks.repository import StackRepository
from fleetdeck.server.stacks.scaler import StackScaler
from fleetdeck.server.stacks.scaling import ScaleRepository
from fleetdeck.server.stacks.service import StackService

if TYPE_CHECKING:
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.store import Store

__all__ = ["environment_router", "router", "start", "stop"]
log = logging.getLogger("fleetdeck.server.stacks")
router.include_router(api_adopt.router)  # POST /stacks/{name}/adopt
router.include_router(api_allow.router)  # GET|PUT /stacks/{name}/allowances
router.include_router(api_scale.router)  # POST /stacks/{name}/services/{service}/scale
#: ``GET|PUT /environments/{env}/stack-allowances``.
environment_router = api_allow.environment_router


def resolved_text(stack: str, revision: int | None, message: str) -> str:
    """What resolves a "deploy failed" alert: the deploy that succeeded, for the notification."""
    which = f", revision {revision}" if revision is not None else ""
    return f"resolved by a successful deploy of {stack}{which}: {message}"


def _outcome_reporter(alerts: AlertService) -> Any:
    """Tell the alerts part that a deploy failed, or succeeded again."""

    async def report(
        stack: str, environment: str, ok: bool, message: str, revision: int | None = None
    ) -> None:
        labels = {"environment": environment, "stack": stack}
        try:
            if ok:
                text = resolved_text(stack, revision, message)
                await alerts.report_event("stack_deploy_failed", labels, text, resolved=True)
            else:
                text = f"deploy of {stack} failed: {message}"
                await alerts.report_event("stack_deploy_failed", labels, text, severity="critical")
        except Exception:  # alerting must never break a deploy's bookkeeping
            log.exception("could not report the deploy outcome of %s", stack)

    return report


async def start(
    settings: ServerSettings,
    store: Store,
    secrets: SecretBox,
    fleet: Fleet,
    registry_auth_for: Any,
    alerts: AlertService,
    loops: LoopRegistry | None = None,
) -> StackService:
    """Create the stack service (``ServerContext.stacks``) and its scaler.

    With ``loops``, the scaler's loop starts: it finishes scales a stopped server left
    pending (see :mod:`.scaler`).
    """
    repo = StackRepository(store, secrets)
    await repo.close_interrupted()
    scales = ScaleRepository(store)
    service = StackService(
        repo,
        fleet,
        settings.data_dir,
        load_master_key(settings),
        list(settings.stacks_blocking_rules),
        registry_auth_for,
        on_outcome=_outcome_reporter(alerts),
        allowances=AllowanceRepository(store),
        scales=scales,
    )
    scaler = StackScaler(service, scales)
    service.scaler = scaler
    if loops is not None:
        loops.start(scaler.loop)
    return service


async def stop() -> None:
    """Let deploys in flight end (bounded)."""
    await wait_running()
