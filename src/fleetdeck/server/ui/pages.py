"""The main pages: login, dashboard, the fleet-wide containers table and a container's page.

Each live part of a page is also served alone as a *fragment* (``/ui/fragments/…``): the
page's script refetches it when ``/api/v1/events`` says the fleet changed, so what is shown
is always rendered by the same template, on the server, from the in-memory inventory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from fleetdeck.errors import FleetdeckError, UnauthenticatedError
from fleetdeck.server.auth.deps import authenticate
from fleetdeck.server.context import FleetDep, context_of  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.fleet.common import fleet_of
from fleetdeck.server.fleet.inventory import HEALTHS, STATES
from fleetdeck.server.ui.dashboard import (
    ATTENTION_LIMIT,
    PAGE_SIZES,
    backup_freshness,
    container_query,
    dashboard_data,
    ports_text,
)
from fleetdeck.server.ui.dashboard_events import Event, recent_events
from fleetdeck.server.ui.pages_container import container_config
from fleetdeck.server.ui.pages_metrics import host_targets
from fleetdeck.server.ui.web import FragmentUser, PageUser, render
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from starlette.responses import Response

    from fleetdeck.server.auth.principal import Principal

router = APIRouter(include_in_schema=False)

COLUMNS = (
    ("environment", "Environment"),
    ("node", "Node"),
    ("name", "Name"),
    ("image", "Image"),
    ("state", "State"),
    ("health", "Health"),
    (None, "Ports"),
    ("created", "Created"),
)


def _safe_next(target: str | None) -> str:
    """Only a path on this server may be a redirect target after login (no open redirect).

    Browsers read a backslash as ``/`` and drop tabs and newlines from URLs, so ``/%5Chost``,
    ``/%09/host`` and ``//host`` all lead to another host: a target is kept only if it starts
    with one ``/``, has no backslash or control character anywhere, and parses with neither a
    scheme nor a host. Anything else goes to the dashboard.
    """
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return "/"
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    """The login form (a signed-in user goes straight on)."""
    try:
        await authenticate(request)
        return RedirectResponse(_safe_next(next), status_code=303)
    except UnauthenticatedError:
        return render(request, None, "login.html", next=_safe_next(next))


@router.get("/")
async def dashboard(request: Request, fleet: FleetDep, who: PageUser) -> Response:
    """Environments, nodes, counts, what needs attention, recent events; live."""
    context = await _dashboard_context(request, who) | {"events": await _events(request, who)}
    targets = host_targets(fleet)
    return render(request, who, "dashboard.html", history_targets=targets, **context)


@router.get("/ui/fragments/dashboard", response_class=HTMLResponse)
async def dashboard_fragment(request: Request, who: FragmentUser) -> Response:
    """The live top of the dashboard: counts, nodes, what needs attention."""
    return render(request, who, "_dashboard_body.html", **await _dashboard_context(request, who))


@router.get("/ui/fragments/dashboard/events", response_class=HTMLResponse)
async def dashboard_events_fragment(request: Request, who: FragmentUser) -> Response:
    """The dashboard's recent events (below the charts, so a fragment of their own)."""
    return render(request, who, "_dashboard_events.html", events=await _events(request, who))


async def _events(request: Request, who: Principal) -> list[Event]:
    state = context_of(request)
    return await recent_events(state.audit, state.ui_changes, state.clock.now(), who)


async def _dashboard_context(request: Request, who: Principal) -> dict[str, Any]:
    state = context_of(request)
    firing, firing_total = await state.alerts.firing(ATTENTION_LIMIT)
    backup = None
    if who.role.allows(Role.admin):  # backups are an admin's (they hold the whole server)
        backups = state.backups
        runs = await backups.runs(200)
        backup = backup_freshness(runs, await backups.schedule(), state.clock.now())
    return dashboard_data(state.fleet, state.metrics_latest, state.clock.time()) | {
        "firing": firing,
        "firing_total": firing_total,
        "backup": backup,
    }


def _containers_context(request: Request) -> dict[str, Any]:
    params = dict(request.query_params)
    fleet = fleet_of(request)
    error = None
    try:
        query = container_query(params)
        items, total = fleet.inventory.containers(query)
    except FleetdeckError as exc:
        error, items, total = exc.message, [], 0
        query = container_query({})

    def link(**changes: Any) -> str:
        merged = {k: v for k, v in (params | changes).items() if v not in (None, "")}
        return "/containers?" + urlencode(merged)

    envs = fleet.views()
    return {
        "items": items,
        "total": total,
        "query": query,
        "params": params,
        "error": error,
        "link": link,
        "ports": ports_text,
        "columns": COLUMNS,
        "states": STATES,
        "healths": HEALTHS,
        "page_sizes": PAGE_SIZES,
        "environments": [e.name for e in envs],
        "nodes": sorted({n.name for e in envs for n in e.nodes}),
    }


@router.get("/containers")
async def containers_page(request: Request, who: PageUser) -> Response:
    """Every container of the fleet: searched, filtered, sorted and paged on the server."""
    return render(request, who, "containers.html", **_containers_context(request))


@router.get("/ui/fragments/containers", response_class=HTMLResponse)
async def containers_fragment(request: Request, who: FragmentUser) -> Response:
    """The containers table alone (same query string as the page)."""
    return render(request, who, "_containers_table.html", **_containers_context(request))


def _container_context(request: Request, ref: str) -> dict[str, Any]:
    container = fleet_of(request).resolve(ref)
    return {
        "c": container,
        "ref": f"{container.environment}/{container.node}/{container.name}",
        "ports": ports_text(container),
    }


@router.get("/containers/{ref:path}")
async def container_page(request: Request, ref: str, who: PageUser) -> Response:
    """One container: overview and configuration, actions, logs, stats, inspect, console."""
    try:
        context = _container_context(request, ref)
    except FleetdeckError as exc:
        return _not_found(request, who, exc)
    context |= await container_config(request, context["c"])
    return render(request, who, "container.html", **context)


@router.get("/ui/fragments/container/{ref:path}", response_class=HTMLResponse)
async def container_fragment(request: Request, ref: str, who: FragmentUser) -> Response:
    """A container's overview alone (refetched when the fleet changes)."""
    try:
        context = _container_context(request, ref)
    except FleetdeckError as exc:
        return HTMLResponse(f"<p class='error'>{_escape(exc.message)}</p>", status_code=404)
    return render(request, who, "_container_overview.html", **context)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _not_found(request: Request, who: Principal, exc: FleetdeckError) -> Response:
    response = render(request, who, "error.html", title="Not found", message=exc.message)
    response.status_code = exc.http_status
    return response
