"""What every UI page shares: the templates, the signed-in user, and rendering.

Pages authenticate with the same ``fleetdeck_session`` cookie as the API (one login for
both), but answer a missing or expired session with a redirect to ``/login`` instead of a
JSON 401: a person, not a script, is on the other end.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from fleetdeck import __version__
from fleetdeck.errors import UnauthenticatedError
from fleetdeck.server.auth.deps import authenticate
from fleetdeck.server.auth.principal import Principal
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from starlette.responses import Response

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

#: The entries of the navigation bar: (path, label, role needed to see it). Ten entries fit
#: on one line at 1280 px; related pages share an entry (see SECTIONS).
NAV = (
    ("/", "Dashboard", Role.viewer),
    ("/containers", "Containers", Role.viewer),
    ("/stacks", "Stacks", Role.viewer),
    ("/logs", "Logs", Role.viewer),
    ("/environments", "Environments", Role.viewer),
    ("/swarm", "Swarm", Role.viewer),
    ("/reports/capacity", "Capacity", Role.viewer),
    ("/images", "Resources", Role.viewer),
    ("/alerts", "Alerts", Role.viewer),
    ("/tokens", "Access", Role.viewer),
)

#: Pages grouped under one navigation entry (keyed by its path): each page of a group shows
#: the group's sub-navigation, (path, label, role needed to see it).
SECTIONS: dict[str, tuple[tuple[str, str, Role], ...]] = {
    "/stacks": (
        ("/stacks", "Stacks", Role.viewer),
        ("/repos", "Repositories", Role.viewer),
        ("/updates", "Updates", Role.viewer),
    ),
    "/images": (
        ("/images", "Images", Role.viewer),
        ("/volumes", "Volumes", Role.viewer),
        ("/networks", "Networks", Role.viewer),
        ("/registries", "Registries", Role.viewer),
    ),
    "/alerts": (
        ("/alerts", "Alerts", Role.viewer),
        ("/rules", "Rules", Role.viewer),
        ("/silences", "Silences", Role.viewer),
        ("/channels", "Channels", Role.viewer),
        ("/heal", "Auto-heal", Role.viewer),
    ),
    "/tokens": (
        ("/tokens", "API tokens", Role.viewer),
        ("/users", "Users", Role.admin),
        ("/audit", "Audit log", Role.admin),
        ("/backups", "Backups", Role.admin),
    ),
}


def navigation(path: str, role: Role | None) -> dict[str, Any]:
    """A page's navigation: the entries its user may see, the one to mark, its sub-navigation."""

    def allowed(need: Role) -> bool:
        return role is not None and role.allows(need)

    entries = [(p, label) for p, label, need in NAV if allowed(need)]
    current = "/" if path == "/" else next((p for p, _ in entries[1:] if path.startswith(p)), None)
    subnav: list[tuple[str, str]] = []
    for entry, pages in SECTIONS.items():
        if any(path == page or path.startswith(page + "/") for page, _, _ in pages):
            current = entry
            subnav = [(page, label) for page, label, need in pages if allowed(need)]
    return {
        "nav": entries,
        "nav_current": current,
        "section": next((label for p, label in entries if p == current), ""),
        "subnav": subnav if len(subnav) > 1 else [],
    }


def ago(value: datetime | str | None) -> str:
    """``5s ago``-style text for a time (the page's JS keeps it current)."""
    if value is None:
        return "never"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    seconds = int((datetime.now(UTC) - when).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def iso(value: datetime | None) -> str:
    """ISO 8601 for a ``<time datetime=…>`` attribute."""
    return value.isoformat() if value else ""


templates.env.filters["ago"] = ago
templates.env.filters["iso"] = iso


async def page_user(request: Request) -> Principal:
    """The signed-in user of a page request, or a redirect to the login page."""
    try:
        return await authenticate(request)
    except UnauthenticatedError:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/login?next={quote(target, safe='')}"
        raise HTTPException(303, "log in first", headers={"Location": location}) from None


async def fragment_user(request: Request) -> Principal:
    """The signed-in user of a fragment request (JSON 401 when the session is gone)."""
    return await authenticate(request)


PageUser = Annotated[Principal, Depends(page_user)]
FragmentUser = Annotated[Principal, Depends(fragment_user)]


def render(request: Request, who: Principal | None, template: str, **context: Any) -> Response:
    """Render a page with what every template needs (user, role flags, navigation)."""
    role = who.role if who else Role.viewer
    base = {
        "who": who,
        "can_operate": who is not None and role.allows(Role.operator),
        "is_admin": who is not None and role.allows(Role.admin),
        **navigation(request.url.path, role if who is not None else None),
        "path": request.url.path,
        "version": __version__,
    }
    headers = {"Cache-Control": "no-store"}
    return templates.TemplateResponse(request, template, base | context, headers=headers)
