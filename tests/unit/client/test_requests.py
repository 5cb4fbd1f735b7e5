from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import httpx
import pytest

from fleetdeck.client import ClientConfig, FleetdeckClient
from fleetdeck.errors import FleetdeckError, NotFoundError
from fleetdeck.wire.auth import Role
from tests.unit.client.fake_server import FakeServer, container, ndjson

if TYPE_CHECKING:
    from collections.abc import Iterator

URL = "https://fleet.test:8443"


@pytest.fixture
def client(fake_server: FakeServer) -> Iterator[FleetdeckClient]:
    with FleetdeckClient(ClientConfig(URL, token="secret")) as c:  # noqa: S106
        yield c


def test_bearer_token_and_base_path(fake_server: FakeServer, client: FleetdeckClient) -> None:
    fake_server.on("GET", "/health", {"status": "ok", "version": "0.1.0"})
    assert client.health().version == "0.1.0"
    request = fake_server.requests[-1]
    assert request.headers["Authorization"] == "Bearer secret"
    assert str(request.url) == f"{URL}/api/v1/health"


def test_no_token_no_authorization_header(fake_server: FakeServer) -> None:
    fake_server.on("GET", "/health", {"status": "ok"})
    with FleetdeckClient(ClientConfig(URL)) as c:
        c.health()
    assert "Authorization" not in fake_server.requests[-1].headers


def test_container_refs_are_quoted_as_one_segment(
    fake_server: FakeServer, client: FleetdeckClient
) -> None:
    fake_server.on("GET", "/containers/prod%2Fweb", {"Name": "/web"})
    fake_server.on("POST", "/containers/prod%2Fweb/stop", {"ok": True, "container": container()})
    assert client.inspect_container("prod/web") == {"Name": "/web"}
    result = client.stop_container("prod/web", timeout=3)
    assert result.container is not None and result.container.environment == "prod"
    assert fake_server.last("POST", "/containers/prod%2Fweb/stop").url.params["t"] == "3"


def test_list_containers_sends_filters(fake_server: FakeServer, client: FleetdeckClient) -> None:
    fake_server.on("GET", "/containers", {"items": [container()], "total": 1})
    page = client.list_containers(
        environment="prod", labels=["a=1", "b"], state="running", order="desc", limit=5
    )
    assert page.total == 1 and page.items[0].name == "web"
    query = parse_qsl(fake_server.requests[-1].url.query.decode())
    assert ("label", "a=1") in query and ("label", "b") in query
    assert ("environment", "prod") in query and ("limit", "5") in query
    assert all(key != "node" for key, _ in query)  # unset filters are not sent


def test_exec_sends_the_command(fake_server: FakeServer, client: FleetdeckClient) -> None:
    fake_server.on("POST", "/containers/abc/exec", {"exit_code": 3, "output": "hi\n"})
    result = client.exec("abc", ["sh", "-c", "echo hi; exit 3"])
    assert (result.exit_code, result.output) == (3, "hi\n")
    assert json.loads(fake_server.requests[-1].content) == {"cmd": ["sh", "-c", "echo hi; exit 3"]}


def test_logs_yield_lines_as_they_arrive(fake_server: FakeServer, client: FleetdeckClient) -> None:
    events: list[str] = []

    def body() -> Iterator[bytes]:
        for n in (1, 2, 3):
            events.append(f"sent {n}")
            yield ndjson([{"stream": "stdout", "time": None, "line": f"line {n}"}])

    fake_server.on(
        "GET", "/containers/prod%2Fweb/logs", lambda _r: httpx.Response(200, content=body())
    )
    for line in client.logs("prod/web", follow=True, tail=0):
        events.append(f"got {line.line}")
    assert events == ["sent 1", "got line 1", "sent 2", "got line 2", "sent 3", "got line 3"]
    params = fake_server.requests[-1].url.params
    assert params["follow"] == "true" and params["tail"] == "0"


def test_error_in_a_log_stream_is_raised(fake_server: FakeServer, client: FleetdeckClient) -> None:
    lines = [
        {"stream": "stdout", "line": "one"},
        {"error": "not_found", "message": "container went away"},
    ]
    fake_server.on(
        "GET", "/containers/x/logs", lambda _r: httpx.Response(200, content=ndjson(lines))
    )
    seen = []
    with pytest.raises(NotFoundError, match="went away"):
        for line in client.logs("x"):
            seen.append(line.line)
    assert seen == ["one"]


def test_pull_yields_progress_objects(fake_server: FakeServer, client: FleetdeckClient) -> None:
    progress = [{"status": "Pulling fs layer", "id": "a1"}, {"status": "done", "image": "x:1"}]
    fake_server.on("POST", "/images/pull", lambda _r: httpx.Response(200, content=ndjson(progress)))
    assert list(client.pull("x:1", "prod", node="prod-1")) == progress
    assert json.loads(fake_server.requests[-1].content) == {
        "environment": "prod",
        "node": "prod-1",
        "image": "x:1",
    }


def test_stream_error_status_is_mapped(fake_server: FakeServer, client: FleetdeckClient) -> None:
    fake_server.on(
        "GET",
        "/containers/nope/logs",
        lambda _r: httpx.Response(
            404, json={"error": "not_found", "message": "no container 'nope'"}
        ),
    )
    with pytest.raises(NotFoundError, match="no container 'nope'"):
        list(client.logs("nope"))


def test_malformed_stream_line_is_an_error(
    fake_server: FakeServer, client: FleetdeckClient
) -> None:
    fake_server.on("GET", "/containers/x/logs", lambda _r: httpx.Response(200, content=b"oops\n"))
    with pytest.raises(FleetdeckError, match="malformed"):
        list(client.logs("x"))


def test_resource_listings_keep_unreachable_nodes(
    fake_server: FakeServer, client: FleetdeckClient
) -> None:
    fake_server.on(
        "GET",
        "/volumes",
        {"items": [{"name": "data", "environment": "prod", "node": "n1"}], "unreachable": ["n2"]},
    )
    page = client.list_volumes(environment="prod")
    assert [v.name for v in page.items] == ["data"] and page.unreachable == ["n2"]


def test_tokens_and_users(fake_server: FakeServer, client: FleetdeckClient) -> None:
    token = {"id": "t1", "name": "ci", "role": "operator", "user": "ann", "revoked": False}
    fake_server.on("POST", "/tokens", {**token, "token": "fdt_secret"})
    fake_server.on("PATCH", "/users/ann", {"username": "ann", "role": "admin"})
    created = client.create_token("ci", Role.operator, expires_in_days=30)
    assert created.token == "fdt_secret" and created.user == "ann"  # noqa: S105
    assert json.loads(fake_server.requests[-1].content) == {
        "name": "ci",
        "role": "operator",
        "expires_in_days": 30,
    }
    assert client.update_user("ann", role=Role.admin).role is Role.admin
    assert json.loads(fake_server.requests[-1].content) == {"role": "admin"}


def test_swarm_paths(fake_server: FakeServer, client: FleetdeckClient) -> None:
    fake_server.on("POST", "/environments/sw/services/web/scale", {"ok": True})
    fake_server.on("GET", "/environments/sw/services", [{"name": "web"}])
    assert client.scale_service("sw", "web", 3) == {"ok": True}
    assert json.loads(fake_server.requests[-1].content) == {"replicas": 3}
    assert client.list_services("sw") == [{"name": "web"}]


def test_a_fleet_files_git_stack_sets_the_source_and_ends_with_a_result(
    fake_server: FakeServer, client: FleetdeckClient
) -> None:
    synced = {"stack": "shop", "repo": "infra", "ref": "v2", "commit": "ab" * 20,
              "result": "deployed", "message": "deployed revision 3", "revision": 3}  # fmt: skip
    fake_server.on("PUT", "/stacks/shop/source", synced)
    git = {"url": "https://git.lan/infra.git", "repository": "infra", "ref": "v2",
           "path": "shop", "files": ["compose.yaml"]}  # fmt: skip
    (event,) = client.deploy_stack_git("shop", "lab", git)
    assert event == {"type": "result", "ok": True, "message": "deployed revision 3",
                     "revision": 3, "commit": "ab" * 20}  # fmt: skip
    body = json.loads(fake_server.last("PUT", "/stacks/shop/source").content)
    assert body == {"environment": "lab", "repo": "infra", "ref": "v2", "path": "shop",
                    "compose_files": ["compose.yaml"], "env_file": None,
                    "submodules": False}  # fmt: skip
    fake_server.on("PUT", "/stacks/shop/source", synced | {"result": "failed", "revision": None})
    (failed,) = client.deploy_stack_git("shop", "lab", {"url": "https://git.lan/infra.git"})
    assert failed["ok"] is False
    assert json.loads(fake_server.last("PUT", "/stacks/shop/source").content)["repo"] == (
        "https://git.lan/infra.git"
    )
