"""``POST /api/v1/agents/upgrade``: roll the server's agent build out (NDJSON progress).

An admin's: it replaces the software that runs as root on every host. Everything is checked
before anything moves (the environments exist, the server serves an agent build, no other
rollout runs); a dry run answers the plan only. Audited: one ``agents.upgrade`` entry for
the request (its result the rollout's outcome) and one ``agents.upgrade.node`` entry per
node that was asked to move (``ok``, or why it was undone or failed).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from fleetdeck.server.agent_upgrade.service import AgentUpgrader, Rollout
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Admin  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.context import context_of
from fleetdeck.server.install.api import dist_of, server_url
from fleetdeck.server.openapi import NdjsonStream
from fleetdeck.wire.upgrade import AgentUpgradeBody, UpgradeEvent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

router = APIRouter(prefix="/agents", tags=["agents"])
_NDJSON = "application/x-ndjson"


def upgrader_of(request: Request) -> AgentUpgrader:
    """The server's one upgrader (made on first use; its lock allows one rollout at a time)."""
    upgrader: AgentUpgrader | None = getattr(request.app.state, "agent_upgrader", None)
    if upgrader is None:
        ctx = context_of(request)
        upgrader = AgentUpgrader(ctx.fleet, dist_of(ctx))
        request.app.state.agent_upgrader = upgrader
    return upgrader


def _line(event: UpgradeEvent) -> bytes:
    return (event.model_dump_json(exclude_none=True) + "\n").encode()


@router.post("/upgrade", response_class=NdjsonStream)
async def upgrade_agents(body: AgentUpgradeBody, request: Request, who: Admin) -> StreamingResponse:
    """Move agents to the server's build one host at a time; progress as NDJSON lines.

    Each line is an ``UpgradeEvent`` (:mod:`fleetdeck.wire.upgrade`): ``plan``, ``step``…,
    ``done``.
    """
    upgrader = upgrader_of(request)
    audit = context_of(request).audit
    target_name = ",".join(body.environments) or "*"
    detail: dict[str, object] = {"dry_run": body.dry_run, "timeout_seconds": body.timeout_seconds}
    async with audited(request, who.username, "agents.upgrade", target_name, detail) as draft:
        target, nodes = upgrader.plan(body.environments)
        draft["to"] = target
        draft["nodes"] = [f"{n.environment}/{n.node}" for n in nodes if n.state == "move"]
        if not body.dry_run:
            upgrader.begin()
            finished = draft.later()
    plan = UpgradeEvent(event="plan", target=target, nodes=nodes)
    if body.dry_run:
        done = UpgradeEvent(event="done", moved=0, undone=0, failed=0)
        return StreamingResponse(iter([_line(plan), _line(done)]), media_type=_NDJSON)
    rollout = Rollout(body.environments, body.timeout_seconds, server_url(request))

    async def step_audit(where: str, result: str, step_detail: dict[str, object]) -> None:
        await audit.record(who.username, "agents.upgrade.node", where, result, step_detail)

    async def lines() -> AsyncIterator[bytes]:
        result = "error: interrupted"
        try:
            yield _line(plan)
            async for event in upgrader.run(rollout, nodes, step_audit):
                if event.event == "done":
                    bad = (event.undone or 0) + (event.failed or 0)
                    result = "ok" if not bad else f"error: {bad} node(s) did not move"
                yield _line(event)
        except Exception:  # noqa: BLE001 - told in-band (its text may be unsafe), then recorded
            message = "the rollout stopped on an internal error (see the server's log)"
            yield (json.dumps({"error": "error", "message": message}) + "\n").encode()
            result = "error: internal"
        finally:
            await finished(result)

    return StreamingResponse(lines(), media_type=_NDJSON)
