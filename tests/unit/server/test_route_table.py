"""The route table: every route's required role and request body limit, decided here.

The test walks ``app.routes`` and compares each route with :data:`ROUTES`, so a route added
without a decision (who may call it, how much it may send) fails until it is written down
here. ``none`` routes answer without a login; the README lists exactly those.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import routing
from starlette.routing import Mount

from fleetdeck.server.body_limits import DEFAULT_BODY_LIMIT, STACK_BODY_LIMIT, route_limits

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

SMALL, STACK = DEFAULT_BODY_LIMIT, STACK_BODY_LIMIT
#: Role names of the dependencies that authenticate: a page or fragment needs any login,
#: which every role (viewer the lowest) has.
DEPENDENCY_ROLES = {
    "require_viewer": "viewer",
    "require_operator": "operator",
    "require_admin": "admin",
    "page_user": "viewer",
    "fragment_user": "viewer",
}
#: Routes that check their caller in the handler, not in a dependency.
HANDLER_CHECKED = {"WS /api/v1/containers/{ref:path}/console": "operator"}

ROUTES: dict[str, tuple[str, int]] = {
    "GET /api/openapi.json": ("viewer", SMALL),
    "GET /api/v1/health": ("none", SMALL),
    "GET /api/v1/ca": ("none", SMALL),
    "POST /api/v1/auth/login": ("none", SMALL),
    "POST /api/v1/auth/logout": ("viewer", SMALL),
    "GET /api/v1/auth/me": ("viewer", SMALL),
    "GET /api/v1/users": ("admin", SMALL),
    "POST /api/v1/users": ("admin", SMALL),
    "PATCH /api/v1/users/{username}": ("admin", SMALL),
    "DELETE /api/v1/users/{username}": ("admin", SMALL),
    "GET /api/v1/tokens": ("viewer", SMALL),
    "POST /api/v1/tokens": ("viewer", SMALL),
    "DELETE /api/v1/tokens/{token_id}": ("viewer", SMALL),
    "GET /api/v1/audit": ("admin", SMALL),
    "GET /api/v1/registries": ("viewer", SMALL),
    "POST /api/v1/registries": ("admin", SMALL),
    "DELETE /api/v1/registries/{name}": ("admin", SMALL),
    "GET /api/v1/backups": ("admin", SMALL),
    "POST /api/v1/backups": ("admin", SMALL),
    "POST /api/v1/backups/verify": ("admin", SMALL),
    "GET /api/v1/backups/schedule": ("admin", SMALL),
    "PUT /api/v1/backups/schedule": ("admin", SMALL),
    "GET /api/v1/backups/targets": ("admin", SMALL),
    "POST /api/v1/backups/targets": ("admin", SMALL),
    "DELETE /api/v1/backups/targets/{name}": ("admin", SMALL),
    "GET /api/v1/backups/volumes": ("admin", SMALL),
    "POST /api/v1/backups/volumes": ("admin", SMALL),
    "POST /api/v1/backups/volumes/restore": ("admin", SMALL),
    "GET /api/v1/backups/volumes/policies": ("admin", SMALL),
    "POST /api/v1/backups/volumes/policies": ("admin", SMALL),
    "DELETE /api/v1/backups/volumes/policies/{name:path}": ("admin", SMALL),
    "GET /api/v1/events": ("viewer", SMALL),
    "GET /api/v1/environments": ("viewer", SMALL),
    "POST /api/v1/environments": ("admin", SMALL),
    "GET /api/v1/environments/{name}": ("viewer", SMALL),
    "PATCH /api/v1/environments/{name}": ("admin", SMALL),
    "DELETE /api/v1/environments/{name}": ("admin", SMALL),
    "POST /api/v1/environments/{name}/join-tokens": ("admin", SMALL),
    "POST /api/v1/agents/enrol": ("none", SMALL),
    "POST /api/v1/agents/upgrade": ("admin", SMALL),
    # The agent's distribution: public software and a script, before a host has credentials.
    "GET /install/agent.sh": ("none", SMALL),
    "GET /install/manifest.json": ("none", SMALL),
    "GET /install/wheels/{name}": ("none", SMALL),
    "GET /install/fleetdeck-agent-image.tar": ("none", SMALL),
    "GET /install/fleetdeck-agent.service": ("none", SMALL),
    "POST /install/token-check": ("none", SMALL),
    "GET /api/v1/containers": ("viewer", SMALL),
    "GET /api/v1/containers/{ref:path}/logs": ("viewer", SMALL),
    "GET /api/v1/containers/{ref:path}/stats": ("viewer", SMALL),
    "POST /api/v1/containers/{ref:path}/exec": ("operator", SMALL),
    "POST /api/v1/containers/{ref:path}/rename": ("operator", SMALL),
    "POST /api/v1/containers": ("operator", SMALL),
    "POST /api/v1/containers/{ref:path}/recreate": ("operator", SMALL),
    "POST /api/v1/containers/{ref:path}/{action}": ("operator", SMALL),
    "DELETE /api/v1/containers/{ref:path}": ("operator", SMALL),
    "GET /api/v1/containers/{ref:path}": ("viewer", SMALL),
    "GET /api/v1/images": ("viewer", SMALL),
    "POST /api/v1/images/pull": ("operator", SMALL),
    "DELETE /api/v1/images": ("operator", SMALL),
    "POST /api/v1/images/prune": ("operator", SMALL),
    "GET /api/v1/volumes": ("viewer", SMALL),
    "POST /api/v1/volumes": ("operator", SMALL),
    "DELETE /api/v1/volumes/{environment}/{name}": ("operator", SMALL),
    "POST /api/v1/volumes/prune": ("operator", SMALL),
    "GET /api/v1/networks": ("viewer", SMALL),
    "POST /api/v1/networks": ("operator", SMALL),
    "DELETE /api/v1/networks/{environment}/{name}": ("operator", SMALL),
    "POST /api/v1/networks/prune": ("operator", SMALL),
    "POST /api/v1/networks/{environment}/{name}/{verb}": ("operator", SMALL),
    "GET /api/v1/environments/{environment}/swarm/nodes": ("viewer", SMALL),
    "POST /api/v1/environments/{environment}/swarm/nodes/{node_id}": ("operator", SMALL),
    "GET /api/v1/environments/{environment}/services": ("viewer", SMALL),
    "GET /api/v1/environments/{environment}/services/{service}": ("viewer", SMALL),
    "GET /api/v1/environments/{environment}/services/{service}/tasks": ("viewer", SMALL),
    "GET /api/v1/environments/{environment}/services/{service}/logs": ("viewer", SMALL),
    "POST /api/v1/environments/{environment}/services/{service}/scale": ("operator", SMALL),
    "POST /api/v1/environments/{environment}/services/{service}/image": ("operator", SMALL),
    "POST /api/v1/environments/{environment}/services/{service}/rollback": ("operator", SMALL),
    "DELETE /api/v1/environments/{environment}/services/{service}": ("operator", SMALL),
    "GET /api/v1/metrics/names": ("viewer", SMALL),
    "GET /api/v1/metrics/query": ("viewer", SMALL),
    "GET /api/v1/reports/capacity": ("viewer", SMALL),
    "GET /api/v1/logs/search": ("viewer", SMALL),
    "GET /api/v1/logs/tail": ("viewer", SMALL),
    "GET /api/v1/logs/stats": ("viewer", SMALL),
    "GET /api/v1/stacks": ("viewer", SMALL),
    "POST /api/v1/stacks/validate": ("viewer", STACK),
    "GET /api/v1/stacks/{name}": ("viewer", SMALL),
    "PUT /api/v1/stacks/{name}": ("operator", STACK),
    "POST /api/v1/stacks/{name}/diff": ("viewer", STACK),
    "POST /api/v1/stacks/{name}/deploy": ("operator", STACK),
    "POST /api/v1/stacks/{name}/rollback": ("operator", SMALL),
    "GET /api/v1/stacks/{name}/ps": ("viewer", SMALL),
    "GET /api/v1/stacks/{name}/logs": ("viewer", SMALL),
    "GET /api/v1/stacks/{name}/history": ("viewer", SMALL),
    "GET /api/v1/stacks/{name}/revisions/{revision}": ("viewer", SMALL),
    "DELETE /api/v1/stacks/{name}": ("operator", SMALL),
    "GET /api/v1/stacks/{name}/variables": ("viewer", SMALL),
    "PUT /api/v1/stacks/{name}/variables/{key}": ("operator", SMALL),
    "DELETE /api/v1/stacks/{name}/variables/{key}": ("operator", SMALL),
    "POST /api/v1/stacks/{name}/adopt": ("operator", STACK),
    "POST /api/v1/stacks/{name}/services/{service}/scale": ("operator", SMALL),
    "GET /api/v1/autoscale": ("viewer", SMALL),
    "PUT /api/v1/autoscale/{scope}/{service}": ("operator", SMALL),
    "DELETE /api/v1/autoscale/{scope}/{service}": ("operator", SMALL),
    "GET /api/v1/autoscale/{scope}/{service}/history": ("viewer", SMALL),
    "GET /api/v1/stacks/{name}/allowances": ("viewer", SMALL),
    "PUT /api/v1/stacks/{name}/allowances": ("admin", SMALL),
    "GET /api/v1/environments/{env}/stack-allowances": ("viewer", SMALL),
    "PUT /api/v1/environments/{env}/stack-allowances": ("admin", SMALL),
    "GET /api/v1/stacks/{name}/drift": ("viewer", SMALL),
    "PUT /api/v1/stacks/{name}/drift": ("operator", SMALL),
    "GET /api/v1/heal": ("viewer", SMALL),
    "GET /api/v1/heal/policies": ("viewer", SMALL),
    "PUT /api/v1/heal/policies/{target:path}": ("operator", SMALL),
    "DELETE /api/v1/heal/policies/{target:path}": ("operator", SMALL),
    "POST /api/v1/heal/reset/{ref:path}": ("operator", SMALL),
    "GET /api/v1/heal/history": ("viewer", SMALL),
    "GET /api/v1/updates": ("viewer", SMALL),
    "POST /api/v1/updates/check": ("operator", SMALL),
    "GET /api/v1/updates/policies": ("viewer", SMALL),
    "PUT /api/v1/updates/policies/{target:path}": ("operator", SMALL),
    "DELETE /api/v1/updates/policies/{target:path}": ("operator", SMALL),
    "GET /api/v1/repos": ("viewer", SMALL),
    "POST /api/v1/repos": ("admin", SMALL),
    "DELETE /api/v1/repos/{name}": ("admin", SMALL),
    "GET /api/v1/repos/{name}/webhook": ("admin", SMALL),
    "POST /api/v1/repos/{name}/webhook": ("none", SMALL),
    "GET /api/v1/stacks/{name}/source": ("viewer", SMALL),
    "PUT /api/v1/stacks/{name}/source": ("operator", SMALL),
    "POST /api/v1/stacks/{name}/sync": ("operator", SMALL),
    "GET /api/v1/alerts": ("viewer", SMALL),
    "GET /api/v1/alerts/{alert_id}": ("viewer", SMALL),
    "POST /api/v1/alerts/{alert_id}/ack": ("operator", SMALL),
    "GET /api/v1/rules": ("viewer", SMALL),
    "GET /api/v1/rules/{name}": ("viewer", SMALL),
    "POST /api/v1/rules": ("operator", SMALL),
    "PATCH /api/v1/rules/{name}": ("operator", SMALL),
    "POST /api/v1/rules/{name}/enable": ("operator", SMALL),
    "POST /api/v1/rules/{name}/disable": ("operator", SMALL),
    "DELETE /api/v1/rules/{name}": ("operator", SMALL),
    "GET /api/v1/silences": ("viewer", SMALL),
    "POST /api/v1/silences": ("operator", SMALL),
    "DELETE /api/v1/silences/{silence_id}": ("operator", SMALL),
    "GET /api/v1/maintenance": ("viewer", SMALL),
    "POST /api/v1/maintenance": ("operator", SMALL),
    "DELETE /api/v1/maintenance/{window_id}": ("operator", SMALL),
    "GET /api/v1/channels": ("viewer", SMALL),
    "GET /api/v1/channels/{name}/url": ("admin", SMALL),
    "POST /api/v1/channels": ("admin", SMALL),
    "PATCH /api/v1/channels/{name}": ("admin", SMALL),
    "DELETE /api/v1/channels/{name}": ("admin", SMALL),
    "POST /api/v1/channels/{name}/test": ("operator", SMALL),
    "GET /api/v1/deliveries": ("viewer", SMALL),
    "GET /metrics": ("viewer", SMALL),
    "GET /api/v1/prometheus/targets": ("viewer", SMALL),
    "GET /login": ("none", SMALL),
    "GET /": ("viewer", SMALL),
    "GET /ui/fragments/dashboard": ("viewer", SMALL),
    "GET /ui/fragments/dashboard/events": ("viewer", SMALL),
    "GET /containers": ("viewer", SMALL),
    "GET /ui/fragments/containers": ("viewer", SMALL),
    "GET /containers/{ref:path}": ("viewer", SMALL),
    "GET /containers/new": ("viewer", SMALL),
    "GET /ui/fragments/container/{ref:path}": ("viewer", SMALL),
    "GET /vendor/{name}": ("none", SMALL),
    "GET /environments": ("viewer", SMALL),
    "GET /environments/{name}": ("viewer", SMALL),
    "GET /images": ("viewer", SMALL),
    "GET /volumes": ("viewer", SMALL),
    "GET /networks": ("viewer", SMALL),
    "GET /registries": ("viewer", SMALL),
    "GET /repos": ("viewer", SMALL),
    "GET /backups": ("viewer", SMALL),  # a page: any login; the handler refuses non-admins
    "GET /swarm": ("viewer", SMALL),
    "GET /users": ("viewer", SMALL),
    "GET /tokens": ("viewer", SMALL),
    "GET /audit": ("viewer", SMALL),
    "GET /stacks": ("viewer", SMALL),
    "GET /stacks/new": ("viewer", SMALL),
    "GET /stacks/{name}": ("viewer", SMALL),
    "GET /reports/capacity": ("viewer", SMALL),
    "GET /alerts": ("viewer", SMALL),
    "GET /rules": ("viewer", SMALL),
    "GET /silences": ("viewer", SMALL),
    "GET /channels": ("viewer", SMALL),
    "GET /heal": ("viewer", SMALL),
    "GET /updates": ("viewer", SMALL),
    "GET /logs": ("viewer", SMALL),
    "WS /api/v1/containers/{ref:path}/console": ("operator", SMALL),  # uvicorn ws_max_size
    "MOUNT /static": ("none", SMALL),
}
README = Path(__file__).parents[3] / "README.md"


def _roles(dependant: Any) -> list[str]:
    found = []
    for sub in dependant.dependencies:
        name = getattr(sub.call, "__name__", "")
        if name in DEPENDENCY_ROLES:
            found.append(DEPENDENCY_ROLES[name])
        found += _roles(sub)
    return found


def route_table(app: FastAPI) -> dict[str, tuple[str, int]]:
    """``"METHOD path"`` -> (required role, body limit) as the app really has them."""
    limits = {(r.method, r.path): r.declared or SMALL for r in route_limits(app)}
    table: dict[str, tuple[str, int]] = {}
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, routing.APIRoute):
            role = (_roles(route.dependant) or ["none"])[0]
            for method in sorted((context.methods or set()) - {"HEAD"}):
                table[f"{method} {context.path}"] = (role, limits[(method, context.path or "")])
        elif isinstance(route, routing.APIWebSocketRoute):
            key = f"WS {context.path}"
            table[key] = (HANDLER_CHECKED.get(key, (_roles(route.dependant) or ["none"])[0]), SMALL)
        elif isinstance(route, Mount):
            table[f"MOUNT {context.path}"] = ("none", SMALL)
        else:
            table[f"{type(route).__name__} {context.path}"] = ("undecided", 0)
    return table


def test_every_route_has_a_decided_role_and_body_limit(app: FastAPI) -> None:
    table = route_table(app)
    for key, (role, limit) in sorted(table.items()):
        print(f"{key:70} {role:9} {limit}")  # the table, for -s
    assert sorted(set(table) - set(ROUTES)) == [], "new routes: add them to ROUTES"
    assert sorted(set(ROUTES) - set(table)) == [], "routes gone: remove them from ROUTES"
    wrong = {k: (table[k], ROUTES[k]) for k in table if table[k] != ROUTES[k]}
    assert wrong == {}, "(actual, expected)"


def test_the_readme_lists_exactly_the_routes_open_without_login() -> None:
    text = README.read_text()
    start = text.index("<!-- open-routes -->")
    end = text.index("<!-- /open-routes -->")
    listed = set(re.findall(r"`((?:GET|POST|PUT|PATCH|DELETE|MOUNT) [^`]+)`", text[start:end]))
    open_routes = {k for k, (role, _) in ROUTES.items() if role == "none"}
    assert listed == open_routes


async def test_the_openapi_document_needs_a_login_and_there_is_no_cdn_docs_page(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    assert (await client.get("/api/openapi.json")).status_code == 401
    document = await client.get(
        "/api/openapi.json", headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert document.status_code == 200 and "/api/v1/health" in document.json()["paths"]
    assert (await client.get("/api/docs")).status_code == 404


async def test_pages_and_scrape_routes_need_a_login(client: httpx.AsyncClient) -> None:
    for key, (role, _) in ROUTES.items():
        method, path = key.split(" ", 1)
        if role == "none" or method != "GET" or path.startswith("/api/v1/"):
            continue  # /api/v1 is covered by test_server_guarded_routes
        response = await client.get(re.sub(r"\{[^}]+\}", "dummy", path))
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login?next="), path
        else:
            assert response.status_code == 401, (path, response.status_code)
