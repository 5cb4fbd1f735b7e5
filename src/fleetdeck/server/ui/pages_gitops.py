"""The repositories page (``/repos``): Git repositories, their webhook URL and stacks.

Rendered on the server from the GitOps service, as ``fleetdeck repos ls`` shows them; an
admin also sees each webhook's secret (the same as ``fleetdeck repos webhook NAME``). A
stack's Git source is shown on its own page (:mod:`.stacks`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request

from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.gitops.api import webhook_url
from fleetdeck.server.ui.web import PageUser, render

if TYPE_CHECKING:
    from starlette.responses import Response

router = APIRouter(include_in_schema=False)


@router.get("/repos")
async def repos_page(request: Request, ctx: Ctx, who: PageUser) -> Response:
    """Every repository: URL, auth kind, poll interval, webhook URL, the stacks using it."""
    service = ctx.gitops
    repos = await service.repos_json() if service is not None else []
    secrets: dict[str, str] = {}
    for repo in repos:
        repo["webhook_url"] = webhook_url(request, repo["name"])
        if service is not None and who.is_admin:
            secrets[repo["name"]] = await service.webhook_secret(repo["name"])
    return render(request, who, "repos.html", repos=repos, secrets=secrets)
