"""The Backups page: server backups (newest good one's age, runs, targets), then volumes.

The volume half lists each policy with the age of its volumes' newest good backup, and
every volume backup run.

Rendered on the server from the backup service (admins only, like the API: a backup is the
whole server). "Back up now" calls ``POST /api/v1/backups`` with the session cookie, so the
role check, the origin check and the audit log apply as for any other client.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from fleetdeck.durations import format_duration
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.ui.web import PageUser, render
from fleetdeck.sizes import format_bytes
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from starlette.responses import Response

    from fleetdeck.server.context import ServerContext

router = APIRouter(include_in_schema=False)


@router.get("/backups")
async def backups_page(request: Request, ctx: Ctx, who: PageUser) -> Response:
    """Server backups (admin)."""
    if not who.role.allows(Role.admin):
        response = render(
            request, who, "error.html", title="Admins only",
            message="Backups hold the whole server: only admins see them.",
        )  # fmt: skip
        response.status_code = 403
        return response
    service = ctx.backups
    runs = await service.runs(200)
    good = [r for r in runs if r.status == "ok"]
    newest = good[0].finished_at if good else None
    age_s = (datetime.now(UTC) - newest).total_seconds() if newest else None
    schedule = await service.schedule()
    volumes = await volume_view(ctx)
    return render(
        request, who, "backups.html",
        runs=runs, newest_good=newest, newest_age=format_duration(age_s) if age_s else None,
        targets=await service.targets(), schedule=schedule,
        schedule_every=format_duration(schedule.interval_s),
        next_due=await service.next_due_in(), size=format_bytes, took=format_duration,
        **volumes,
    )  # fmt: skip


async def volume_view(ctx: ServerContext) -> dict[str, Any]:
    """The volume half of the page: policies (with their newest good backup's age), runs."""
    service = ctx.volume_backups
    runs = await service.runs(200)
    now = datetime.now(UTC)
    newest: dict[str, str] = {}
    for run in runs:  # newest first: the first good one per policy and volume wins
        key = f"{run.policy}|{run.volume}"
        if run.status == "ok" and run.finished_at is not None and key not in newest:
            newest[key] = format_duration((now - run.finished_at).total_seconds()) or "0s"
    policies = []
    for policy in await service.policies():
        ages = {k.split("|", 1)[1]: v for k, v in newest.items() if k.startswith(f"{policy.name}|")}
        due = await service.next_due_in(policy)
        policies.append({"row": policy, "ages": ages, "due": due})
    return {"volume_policies": policies, "volume_runs": runs}
