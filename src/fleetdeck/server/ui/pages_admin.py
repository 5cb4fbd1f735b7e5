"""Environments, images, volumes, networks, registries, Swarm, users, tokens and the audit log.

Environments are rendered on the server from the fleet's records. The other pages are
tables over the existing ``/api/v1`` routes: the page gives the script what to list (the
``kind``) and the user's rights, and the script fetches, renders and acts over the API, so
the UI can never do something the API would not let the same user do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse

from fleetdeck.errors import FleetdeckError
from fleetdeck.server.context import Ctx, FleetDep  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.fleet.common import fleet_of
from fleetdeck.server.fleet.inventory import ContainerQuery
from fleetdeck.server.stacks.allowances import Scope
from fleetdeck.server.ui.dashboard import ports_text
from fleetdeck.server.ui.web import HERE, PageUser, render

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.responses import Response

router = APIRouter(include_in_schema=False)

#: Where ``npm ci`` (scripts/setup.sh) puts the front-end packages: the repository root.
NODE_MODULES = HERE.parents[3] / "node_modules"
#: Where an installed wheel has the same files (``hatch_build.py`` copies them there).
PACKAGED = HERE / "vendor"
#: The only vendored files served, by URL name (nothing else of node_modules is exposed).
VENDOR_FILES = {
    "xterm.js": "@xterm/xterm/lib/xterm.js",
    "xterm.css": "@xterm/xterm/css/xterm.css",
    "addon-fit.js": "@xterm/addon-fit/lib/addon-fit.js",
}
RESOURCE_PAGES = {
    "images": "Images",
    "volumes": "Volumes",
    "networks": "Networks",
    "registries": "Registries",
    "swarm": "Swarm nodes and services",
    "users": "Users",
    "tokens": "API tokens",
    "audit": "Audit log",
}


def vendor_path(name: str, root: Path | None = None) -> Path | None:
    """The file behind ``/vendor/NAME`` if it is installed (a checkout's, else the wheel's)."""
    relative = VENDOR_FILES.get(name)
    if relative is None:
        return None
    for base in (root,) if root is not None else (NODE_MODULES, PACKAGED):
        path = base / relative
        if path.is_file():
            return path
    return None


@router.get("/vendor/{name}")
async def vendor(name: str) -> Response:
    """A pinned front-end file (xterm.js) from node_modules, or how to install it."""
    path = vendor_path(name)
    if path is None:
        return PlainTextResponse(
            f"{name} is not installed: run scripts/setup.sh (npm ci) in the repository",
            status_code=404,
        )
    return FileResponse(path, headers={"Cache-Control": "max-age=3600"})


@router.get("/environments")
async def environments_page(
    request: Request,
    fleet: FleetDep,
    who: PageUser,
    tag: str | None = None,
    group: str | None = None,
) -> Response:
    """Environments with status, tags and groups; filter; add (admin)."""
    views = fleet.views()
    all_tags = sorted({t for v in views for t in v.tags})
    all_groups = sorted({g for v in views for g in v.groups})
    shown = [v for v in views if (not tag or tag in v.tags) and (not group or group in v.groups)]
    return render(
        request,
        who,
        "environments.html",
        environments=shown,
        total=len(views),
        tags=all_tags,
        groups=all_groups,
        tag=tag or "",
        group=group or "",
    )


@router.get("/environments/{name}")
async def environment_page(request: Request, ctx: Ctx, name: str, who: PageUser) -> Response:
    """One environment: its nodes and their containers."""
    fleet = ctx.fleet
    try:
        env = fleet.view(fleet.require_environment(name))
    except FleetdeckError as exc:
        response = render(request, who, "error.html", title="Not found", message=exc.message)
        response.status_code = exc.http_status
        return response
    items, total = fleet.inventory.containers(ContainerQuery(environment=name, limit=5000))
    allowances = ctx.stacks.allowances
    allowed = await allowances.rules(Scope.environment, name) if allowances else []
    return render(
        request, who, "environment.html", env=env, items=items, total=total, ports=ports_text,
        stack_allowances=allowed,
    )  # fmt: skip


def _resource_route(kind: str, title: str) -> None:
    async def page(request: Request, who: PageUser) -> Response:
        envs = fleet_of(request).views()
        swarm_envs = [e.name for e in envs if any(n.swarm_role == "manager" for n in e.nodes)]
        return render(
            request,
            who,
            "resource.html",
            kind=kind,
            title=title,
            environments=[e.name for e in envs],
            swarm_environments=swarm_envs,
        )

    page.__name__ = f"{kind}_page"
    page.__doc__ = f"The {title} page."
    router.add_api_route(f"/{kind}", page, methods=["GET"])


for _kind, _title in RESOURCE_PAGES.items():
    _resource_route(_kind, _title)
