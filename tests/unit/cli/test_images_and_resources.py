from __future__ import annotations

import io
import json
import re
from typing import Any

import httpx
import pytest
from rich.console import Console

from fleetdeck.cli.pull_progress import PullRenderer
from fleetdeck.wire.resources import ImagePage, NetworkPage, PruneResult, VolumePage
from tests.unit.cli.helpers import run_cli
from tests.unit.client.fake_server import FakeServer, ndjson, served

URL = ("--url", "https://fleet.test:8443", "--token", "tok")

#: Progress objects as Docker 20.10 sends them for a two-layer pull (trimmed "progress" bars).
DOCKER_PULL: list[dict[str, Any]] = [
    {"status": "Pulling from fleetdeck/web", "id": "1"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "a3ed95caeb02"},
    {"status": "Already exists", "progressDetail": {}, "id": "5f70bf18a086"},
    {"status": "Waiting", "progressDetail": {}, "id": "a3ed95caeb02"},
    {
        "status": "Downloading",
        "progressDetail": {"current": 32768, "total": 2811478},
        "progress": "[>      ]  32.77kB/2.811MB",
        "id": "a3ed95caeb02",
    },
    {"status": "Verifying Checksum", "progressDetail": {}, "id": "a3ed95caeb02"},
    {"status": "Download complete", "progressDetail": {}, "id": "a3ed95caeb02"},
    {
        "status": "Extracting",
        "progressDetail": {"current": 2811478, "total": 2811478},
        "progress": "[=======>]  2.811MB/2.811MB",
        "id": "a3ed95caeb02",
    },
    {"status": "Extracting", "progressDetail": {"current": 5, "total": -1}, "id": "a3ed95caeb02"},
    {"status": "Pull complete", "progressDetail": {}, "id": "a3ed95caeb02"},
    {"status": "Digest: sha256:0123abcd"},
    {"status": "Status: Downloaded newer image for 10.1.0.1:5000/fleetdeck/web:1"},
    {"status": "done", "image": "10.1.0.1:5000/fleetdeck/web:1"},
]


@pytest.mark.parametrize("terminal", [True, False])
def test_pull_renderer_takes_real_docker_progress(terminal: bool) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=120)
    with PullRenderer(console) as renderer:
        for item in DOCKER_PULL:
            renderer.feed(item)
        renderer.feed({"status": "weird", "id": "x", "progressDetail": "not a dict"})
        renderer.feed({})
    text = out.getvalue()
    assert "Digest: sha256:0123abcd" in text
    assert "pulled 10.1.0.1:5000/fleetdeck/web:1" in text
    if not terminal:
        assert "a3ed95caeb02: Pull complete" in text
        assert "Downloading" not in text  # chatty states are for bars only


def test_pull_command_streams_and_succeeds(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on(
        "POST", "/images/pull", lambda _r: httpx.Response(200, content=ndjson(DOCKER_PULL))
    )
    result = run_cli(
        capsys, monkeypatch, "pull", "10.1.0.1:5000/fleetdeck/web:1", "--env", "n3", *URL
    )
    assert result.code == 0, result.err
    assert "pulled 10.1.0.1:5000/fleetdeck/web:1" in result.out


def test_pull_failure_in_the_stream_exits_non_zero(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [
        {"status": "Pulling from nope/missing", "id": "1"},
        {"error": "manifest for 10.1.0.1:5000/nope/missing:1 not found"},
    ]
    fake_server.on("POST", "/images/pull", lambda _r: httpx.Response(200, content=ndjson(lines)))
    result = run_cli(capsys, monkeypatch, "pull", "10.1.0.1:5000/nope/missing:1", "-e", "n3", *URL)
    assert result.code == 1 and "manifest for" in result.err and "Traceback" not in result.err
    as_json = run_cli(capsys, monkeypatch, "pull", "x", "-e", "n3", "-o", "json", *URL)
    assert as_json.code == 1
    assert [json.loads(line) for line in as_json.out.splitlines()] == lines


def test_bare_images_lists_and_warns_about_silent_nodes(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = {"id": "sha256:abcdef0123456789", "tags": ["web:1"], "size": 5_000_000}
    fake_server.on(
        "GET",
        "/images",
        served(
            ImagePage,
            {"items": [{**image, "environment": "prod", "node": "p1"}], "unreachable": ["prod/p2"]},
        ),
    )
    result = run_cli(capsys, monkeypatch, "images", *URL)
    assert result.code == 0 and "abcdef012345" in result.out and "web:1" in result.out
    assert "prod/p2" in result.err
    as_json = run_cli(capsys, monkeypatch, "images", "ls", "-o", "json", *URL)
    assert json.loads(as_json.out)[0]["node"] == "p1"


def test_rmi_and_prune(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("DELETE", "/images", {"ok": True})
    pruned_answer = served(PruneResult, {"deleted": ["sha256:1"], "space_reclaimed": 2000})
    fake_server.on("POST", "/images/prune", pruned_answer)
    assert run_cli(capsys, monkeypatch, "rmi", "web:1", "--env", "prod", "-f", *URL).code == 0
    params = fake_server.requests[-1].url.params
    assert (params["image"], params["environment"], params["force"]) == ("web:1", "prod", "true")
    pruned = run_cli(capsys, monkeypatch, "images", "prune", "--env", "prod", *URL)
    assert "1 images deleted, 2.0kB reclaimed" in pruned.out


def test_volumes_and_networks(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("POST", "/volumes", {"name": "data"})
    fake_server.on(
        "GET",
        "/networks",
        served(NetworkPage, {"items": [{"id": "n1", "name": "back", "driver": "bridge"}]}),
    )
    fake_server.on("POST", "/networks/prod/back/connect", {"ok": True})
    args = ["volumes", "create", "prod/data", "--label", "k=v", *URL]
    assert run_cli(capsys, monkeypatch, *args).code == 0
    assert json.loads(fake_server.requests[-1].content) == {
        "environment": "prod",
        "name": "data",
        "labels": {"k": "v"},
    }
    listed = run_cli(capsys, monkeypatch, "networks", "--env", "prod", "-o", "json", *URL)
    assert [n["name"] for n in json.loads(listed.out)] == ["back"]
    connected = run_cli(capsys, monkeypatch, "networks", "connect", "prod/back", "web", *URL)
    assert connected.code == 0 and json.loads(fake_server.requests[-1].content) == {
        "container": "web"
    }
    bad = run_cli(capsys, monkeypatch, "volumes", "rm", "no-env-given", *URL)
    assert bad.code == 2 and "ENV/VOLUME" in bad.err


def test_images_say_who_uses_them_and_filter_unused(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    where = {"environment": "prod", "node": "p1"}
    used = {"id": "sha256:aaa", "tags": ["web:1"], "containers": 4, "in_use": True}
    used["used_by"] = ["w1", "w2", "w3", "w4"]
    spare = {"id": "sha256:bbb", "tags": [], "containers": 0, "in_use": False, "dangling": True}
    fake_server.on("GET", "/images", served(ImagePage, {"items": [used | where, spare | where]}))
    table = run_cli(capsys, monkeypatch, "images", "--unused", "--dangling", *URL)
    assert table.code == 0, table.err
    params = fake_server.last("GET", "/images").url.params
    assert (params["unused"], params["dangling"]) == ("true", "true")
    assert "USED BY" in table.out and "w1, w2, w3 +1" in table.out
    assert [line.split()[-1] for line in table.out.splitlines()[1:]] == ["+1", "no"]
    listed = json.loads(run_cli(capsys, monkeypatch, "images", "ls", "-o", "json", *URL).out)
    assert [(i["in_use"], i["dangling"], i["containers"]) for i in listed] == [
        (True, False, 4),
        (False, True, 0),
    ]
    assert "unused" not in fake_server.last("GET", "/images").url.params


def test_volumes_with_size_add_a_size_column(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    where = {"environment": "prod", "node": "p1", "driver": "local"}
    volumes = [
        {"name": "data", "containers": 1, "used_by": ["db"], "size": 2_000_000},
        {"name": "slow", "containers": 0, "size_status": "timed_out"},
        {"name": "refused", "containers": 0, "size_status": "failed", "size_error": "busy"},
    ]
    volumes[0]["size_status"] = "measured"
    fake_server.on("GET", "/volumes", served(VolumePage, {"items": [v | where for v in volumes]}))
    plain = run_cli(capsys, monkeypatch, "volumes", *URL)
    assert plain.code == 0 and "SIZE" not in plain.out and "USED BY" in plain.out
    assert "size" not in fake_server.last("GET", "/volumes").url.params
    sized = run_cli(capsys, monkeypatch, "volumes", "ls", "--size", "--unused", *URL)
    params = fake_server.last("GET", "/volumes").url.params
    assert (params["size"], params["unused"]) == ("true", "true")
    # Cells are three spaces or more apart (no mountpoint here: an empty cell).
    rows = [re.split(r"\s{3,}", line.strip()) for line in sized.out.splitlines()[1:]]
    assert [(r[2], r[-2], r[-1]) for r in rows] == [
        ("data", "db", "2.0MB"),
        ("slow", "no", "timed out"),
        ("refused", "no", "failed"),
    ]
    assert "sizes not measured: busy" in sized.err
    as_json = run_cli(capsys, monkeypatch, "volumes", "--size", "-o", "json", *URL)
    first = json.loads(as_json.out)[0]
    assert (first["size"], first["size_status"], first["in_use"]) == (2_000_000, "measured", True)
