"""The alerting pages: alerts, rules, silences (and maintenance windows), channels, auto-heal.

Like the other resource pages, each is a table the script (``alerts.js`` over
``resources.js``) fills from ``/api/v1`` with the signed-in user's rights, so the page can
do nothing the API would not let the same user do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request

from fleetdeck.server.fleet.common import fleet_of
from fleetdeck.server.ui.web import PageUser, render

if TYPE_CHECKING:
    from starlette.responses import Response

router = APIRouter(include_in_schema=False)

#: One "Alerts" entry in the main navigation; the pages link to each other
#: (``SECTIONS`` in :mod:`fleetdeck.server.ui.web`).
ALERT_PAGES = {
    "alerts": "Alerts",
    "rules": "Alert rules",
    "silences": "Silences and maintenance",
    "channels": "Notification channels",
    "heal": "Auto-heal",
}


def _alert_page(kind: str, title: str) -> None:
    async def page(request: Request, who: PageUser) -> Response:
        envs = [e.name for e in fleet_of(request).views()]
        return render(
            request, who, "resource.html", kind=kind, title=title, environments=envs,
            swarm_environments=[],
        )  # fmt: skip

    page.__name__ = f"{kind}_page"
    page.__doc__ = f"The {title} page."
    router.add_api_route(f"/{kind}", page, methods=["GET"])


for _kind, _title in ALERT_PAGES.items():
    _alert_page(_kind, _title)
