from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import httpx

from fleetdeck.wire.containers import ContainerStats, ExecResult
from tests.unit.cli.helpers import run_cli
from tests.unit.client.fake_server import FakeServer, container, ndjson, served

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

URL = ("--url", "https://fleet.test:8443", "--token", "tok")


def test_ps_json_is_a_list_with_stable_keys(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on(
        "GET", "/containers", {"items": [container("web"), container("db", env="dev")], "total": 2}
    )
    result = run_cli(capsys, monkeypatch, "ps", "-o", "json", *URL)
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert isinstance(rows, list) and [r["name"] for r in rows] == ["web", "db"]
    for row in rows:
        assert {"id", "name", "environment", "node", "state", "image", "health"} <= set(row)
    assert fake_server.requests[-1].url.params["state"] == "running"  # docker's default


def test_ps_flags_become_filters(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/containers", {"items": [], "total": 0})
    args = ["ps", "-a", "--env", "prod", "--label", "a=1", "--label", "b", "--sort", "created"]
    result = run_cli(capsys, monkeypatch, *args, "--desc", "--limit", "10", *URL)
    assert result.code == 0, result.err
    query = parse_qsl(fake_server.requests[-1].url.query.decode())
    assert ("label", "a=1") in query and ("label", "b") in query
    assert ("sort", "created") in query and ("order", "desc") in query
    assert ("environment", "prod") in query and ("limit", "10") in query
    assert all(key != "state" for key, _ in query)  # -a: every state


def test_ps_table_has_readable_columns(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/containers", {"items": [container("web")], "total": 3})
    result = run_cli(capsys, monkeypatch, "ps", *URL)
    for column in ("ENVIRONMENT", "NODE", "NAME", "IMAGE", "STATE", "HEALTH", "STATUS", "ID"):
        assert column in result.out
    assert "0123456789ab" in result.out and "0123456789abc" not in result.out
    assert "1 of 3 shown" in result.out


def test_exec_exits_with_the_remote_exit_code(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = served(ExecResult, {"exit_code": 3, "output": "out-42\n"})
    fake_server.on("POST", "/containers/prod%2Fweb/exec", answer)
    args = ["exec", "prod/web", *URL, "--", "sh", "-c", "echo out-42; exit 3"]
    result = run_cli(capsys, monkeypatch, *args)
    assert result.code == 3
    assert result.out == "out-42\n"
    assert json.loads(fake_server.requests[-1].content)["cmd"] == [
        "sh",
        "-c",
        "echo out-42; exit 3",
    ]


def test_exec_success_exits_0(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on(
        "POST", "/containers/abc/exec", served(ExecResult, {"exit_code": 0, "output": "ok"})
    )
    result = run_cli(capsys, monkeypatch, "exec", "abc", "-o", "json", *URL, "--", "true")
    assert result.code == 0 and json.loads(result.out) == {"exit_code": 0, "output": "ok"}


def test_logs_follow_prints_each_line_as_it_arrives(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    printed_before_next: list[str] = []

    def body() -> Iterator[bytes]:
        yield ndjson([{"stream": "stdout", "time": "2026-01-01T00:00:00Z", "line": "first"}])
        printed_before_next.append(capsys.readouterr().out)  # what the user saw so far
        yield ndjson([{"stream": "stderr", "time": "2026-01-01T00:00:01Z", "line": "second"}])
        printed_before_next.append(capsys.readouterr().err)

    fake_server.on(
        "GET", "/containers/prod%2Fweb/logs", lambda _r: httpx.Response(200, content=body())
    )
    result = run_cli(capsys, monkeypatch, "logs", "-f", "-t", "--tail", "5", "prod/web", *URL)
    assert result.code == 0, result.err
    assert printed_before_next == [
        "2026-01-01T00:00:00+00:00 first\n",
        "2026-01-01T00:00:01+00:00 second\n",
    ]
    params = fake_server.requests[-1].url.params
    assert params["follow"] == "true" and params["tail"] == "5" and params["timestamps"] == "true"


def test_logs_json_is_one_object_a_line(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [{"stream": "stdout", "line": "a"}, {"stream": "stderr", "line": "b"}]
    fake_server.on(
        "GET", "/containers/x/logs", lambda _r: httpx.Response(200, content=ndjson(lines))
    )
    result = run_cli(capsys, monkeypatch, "logs", "x", "-o", "json", *URL)
    assert [json.loads(line)["line"] for line in result.out.splitlines()] == ["a", "b"]


def test_inspect_prints_one_object(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("GET", "/containers/prod%2Fweb", {"Id": "abc", "Name": "/web"})
    result = run_cli(capsys, monkeypatch, "inspect", "prod/web", *URL)
    assert json.loads(result.out) == {"Id": "abc", "Name": "/web"}


def test_lifecycle_commands_take_several_refs(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for ref in ("prod%2Fa", "prod%2Fb"):
        fake_server.on("POST", f"/containers/{ref}/stop", {"ok": True, "container": container()})
    result = run_cli(capsys, monkeypatch, "stop", "-t", "2", "prod/a", "prod/b", "-o", "json", *URL)
    assert result.code == 0, result.err
    assert [r["ref"] for r in json.loads(result.out)] == ["prod/a", "prod/b"]
    assert fake_server.requests[-1].url.params["t"] == "2"


def test_stats_table(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on(
        "GET",
        "/containers/prod%2Fweb/stats",
        served(
            ContainerStats,
            {
                "cpu_percent": 12.5,
                "memory_usage": 52_000_000,
                "memory_limit": 1_000_000_000,
                "memory_percent": 5.2,
                "net_rx": 1500,
                "net_tx": 10,
                "blk_read": 0,
                "blk_write": 4096,
                "pids": 3,
                "time": "2026-01-01T00:00:00Z",
            },
        ),
    )
    result = run_cli(capsys, monkeypatch, "stats", "prod/web", *URL)
    assert result.code == 0, result.err
    assert "12.50%" in result.out and "52.0MB / 1.0GB" in result.out


def test_ps_shows_the_written_tag_and_the_digest_on_demand(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = "sha256:" + "f8dc" * 16
    pinned = container(
        "shop-web-1",
        image=f"registry.lan:5000/web@{digest}",
        labels={"io.fleetdeck.image": "registry.lan:5000/web:1"},
    )
    fake_server.on("GET", "/containers", {"items": [pinned], "total": 1})
    table = run_cli(capsys, monkeypatch, "ps", *URL)
    assert "registry.lan:5000/web:1" in table.out and "sha256:" not in table.out
    wide = run_cli(capsys, monkeypatch, "ps", "--digests", *URL)
    header, row = wide.out.splitlines()[:2]
    assert header.split()[3:5] == ["IMAGE", "DIGEST"]
    assert row.split()[3:5] == ["registry.lan:5000/web:1", digest]
    rows = json.loads(run_cli(capsys, monkeypatch, "ps", "-o", "json", *URL).out)
    assert rows[0]["image"] == f"registry.lan:5000/web@{digest}"
    assert (rows[0]["image_ref"], rows[0]["image_digest"]) == ("registry.lan:5000/web:1", digest)
