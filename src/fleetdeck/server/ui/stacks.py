"""The stacks pages: the list (managed and discovered stacks) and one stack's page.

Both are shells rendered on the server with what the scripts need to know up front (the
environments to pick from, the user's rights); ``static/stacks.js`` and ``static/stack.js``
fetch and act over the ``/api/v1/stacks`` routes the CLI uses (docs/stacks.md), so the UI can
do nothing the same user could not do through the API, and validation, diff and deploy
progress are exactly what the CLI shows.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request

from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.fleet.common import fleet_of
from fleetdeck.server.ui.web import PageUser, render

if TYPE_CHECKING:
    from starlette.responses import Response

router = APIRouter(include_in_schema=False)

#: A Compose project name as Docker Compose accepts it (the API checks it again).
STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: What the editor starts with for a new stack.
NEW_STACK_FILE = """services:
  web:
    image: registry.example:5000/web:1
    deploy:
      replicas: 2
"""


def _environments(request: Request) -> list[dict[str, str]]:
    """Environments to deploy to, each with its kind (a Swarm manager makes it a Swarm)."""
    out = []
    for env in fleet_of(request).views():
        swarm = any(n.swarm_role == "manager" for n in env.nodes)
        out.append({"name": env.name, "kind": "swarm" if swarm else "host", "status": env.status})
    return out


@router.get("/stacks")
async def stacks_page(request: Request, who: PageUser) -> Response:
    """Every stack: deployed by fleetdeck, or discovered running and adoptable."""
    return render(request, who, "stacks.html", environments=_environments(request))


@router.get("/stacks/new")
async def new_stack_page(request: Request, who: PageUser) -> Response:
    """The editor for a stack that does not exist yet (deploying it creates it)."""
    return render(
        request,
        who,
        "stack.html",
        name="",
        environment=request.query_params.get("environment", ""),
        environments=_environments(request),
        starter=NEW_STACK_FILE,
    )


@router.get("/stacks/{name}")
async def stack_page(request: Request, name: str, ctx: Ctx, who: PageUser) -> Response:
    """One stack: editor with validation, diff, deploy, services, logs, history, variables."""
    if not STACK_NAME.match(name):
        response = render(
            request,
            who,
            "error.html",
            title="Not found",
            message=f"{name!r} is not a stack name (lower-case letters, digits, - and _)",
        )
        response.status_code = 404
        return response
    source = await ctx.gitops.repo.source(name) if ctx.gitops is not None else None
    return render(
        request,
        who,
        "stack.html",
        name=name,
        environment=request.query_params.get("environment", ""),
        environments=_environments(request),
        starter="",
        source=source,
    )
