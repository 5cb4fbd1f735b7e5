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
from fleetdeck.types import Role

if TYPE_CHECKING:
    from starlette.responses import Response

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

#: The sections of the navigation bar: (path, label, role needed to see it).
NAV = (
    ("/", "Dashboard", Role.viewer),
    ("/containers", "Containers", Role.viewer),
    ("/stacks", "Stacks", Role.viewer),
    ("/logs", "Logs", Role.viewer),
    ("/environments", "Environments", Role.viewer),
    ("/images", "Images", Role.viewer),
    ("/volumes", "Volumes", Role.viewer),
    ("/networks", "Networks", Role.viewer),
    ("/registries", "Registries", Role.viewer),
    ("/swarm", "Swarm", Role.viewer),
    ("/reports/capacity", "Capacity", Role.viewer),
    ("/alerts", "Alerts", Role.viewer),  # with rules, silences and channels as sub-pages
    ("/users", "Users", Role.admin),
    ("/tokens", "API tokens", Role.viewer),
    ("/audit", "Audit log", Role.admin),
)


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
        "nav": [(p, label) for p, label, need in NAV if who is not None and role.allows(need)],
        "path": request.url.path,
        "version": __version__,
    }
    headers = {"Cache-Control": "no-store"}
    return templates.TemplateResponse(request, template, base | context, headers=headers)
