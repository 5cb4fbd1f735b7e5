"""Stacks: Compose applications deployed, updated and rolled back on hosts and Swarms.

:mod:`.plan` is the contract between the stack service and the two appliers (plain host,
Swarm). The app factory mounts :data:`router` under ``/api/v1`` and calls :func:`start` /
:func:`stop` from its lifespan, after the fleet started.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fleetdeck.server.secrets import load_master_key
from fleetdeck.server.stacks import api_adopt, api_allow
from fleetdeck.server.stacks.allowances import AllowanceRepository
from fleetdeck.server.stacks.api import router
from fleetdeck.server.stacks.deploy import wait_running
from fleetdeck.server.stacks.repository import StackRepository
from fleetdeck.server.stacks.service import StackService

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["environment_router", "router", "start", "stop"]
log = logging.getLogger("fleetdeck.server.stacks")
router.include_router(api_adopt.router)  # POST /stacks/{name}/adopt
router.include_router(api_allow.router)  # GET|PUT /stacks/{name}/allowances
#: ``GET|PUT /environments/{env}/stack-allowances``.
environment_router = api_allow.environment_router


def resolved_text(stack: str, revision: int | None, message: str) -> str:
    """What resolves a "deploy failed" alert: the deploy that succeeded, for the notification."""
    which = f", revision {revision}" if revision is not None else ""
    return f"resolved by a successful deploy of {stack}{which}: {message}"


def _outcome_reporter(app: FastAPI) -> Any:
    """Tell the alerts part (when it is there) that a deploy failed, or succeeded again."""

    async def report(
        stack: str, environment: str, ok: bool, message: str, revision: int | None = None
    ) -> None:
        alerts = getattr(app.state, "alerts", None)
        report_event = getattr(alerts, "report_event", None)
        if report_event is None:
            return
        labels = {"environment": environment, "stack": stack}
        try:
            if ok:
                text = resolved_text(stack, revision, message)
                await report_event("stack_deploy_failed", labels, text, resolved=True)
            else:
                text = f"deploy of {stack} failed: {message}"
                await report_event("stack_deploy_failed", labels, text, severity="critical")
        except Exception:  # alerting must never break a deploy's bookkeeping
            log.exception("could not report the deploy outcome of %s", stack)

    return report


async def start(app: FastAPI) -> None:
    """Create the stack service on ``app.state.stacks``."""
    settings = app.state.settings
    repo = StackRepository(app.state.store, app.state.secrets)
    await repo.close_interrupted()
    app.state.stacks = StackService(
        repo,
        app.state.fleet,
        settings.data_dir,
        load_master_key(settings),
        list(settings.stacks_blocking_rules),
        app.state.registry_auth_for,
        on_outcome=_outcome_reporter(app),
        allowances=AllowanceRepository(app.state.store),
    )


async def stop(app: FastAPI) -> None:
    """Let deploys in flight end (bounded)."""
    await wait_running()
