from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from fleetdeck.cli.swarm import parse_scale_args, pick
from fleetdeck.errors import InvalidInputError
from tests.unit.cli.helpers import run_cli

if TYPE_CHECKING:
    from tests.unit.client.fake_server import FakeServer

URL = ("--url", "https://fleet.test:8443", "--token", "tok")


def test_scale_accepts_both_shapes() -> None:
    assert parse_scale_args(["sw/web=3", "sw/api", "2"]) == [("sw/web", 3), ("sw/api", 2)]
    with pytest.raises(InvalidInputError):
        parse_scale_args(["sw/web"])
    with pytest.raises(InvalidInputError):
        parse_scale_args(["sw/web=many"])


def test_pick_reads_summaries_and_docker_documents() -> None:
    assert pick({"name": "web"}, "name", "Spec.Name") == "web"
    assert pick({"Spec": {"Name": "web"}}, "name", "Spec.Name") == "web"
    assert pick({"Spec": {}}, "name", "Spec.Name") is None


def test_scale_command(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("POST", "/environments/sw/services/web/scale", {"ok": True})
    result = run_cli(capsys, monkeypatch, "scale", "sw/web", "3", *URL)
    assert result.code == 0, result.err
    assert json.loads(fake_server.requests[-1].content) == {"replicas": 3}
    assert "sw/web scaled to 3" in result.out


def test_nodes_drain_and_label_keeps_other_labels(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    node = {"ID": "abc123", "Description": {"Hostname": "h2"}, "Spec": {"Labels": {"zone": "a"}}}
    fake_server.on("GET", "/environments/sw/swarm/nodes", [node])
    fake_server.on("POST", "/environments/sw/swarm/nodes/h2", {"ok": True})
    assert run_cli(capsys, monkeypatch, "nodes", "drain", "sw/h2", *URL).code == 0
    assert json.loads(fake_server.requests[-1].content) == {"availability": "drain"}
    result = run_cli(capsys, monkeypatch, "nodes", "label", "sw/h2", "disk=ssd", *URL)
    assert result.code == 0, result.err
    assert json.loads(fake_server.requests[-1].content) == {"labels": {"zone": "a", "disk": "ssd"}}
    listed = run_cli(capsys, monkeypatch, "nodes", "ls", "sw", *URL)
    assert "h2" in listed.out


def test_services_ls_and_tasks_tables(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on(
        "GET",
        "/environments/sw/services",
        [{"id": "s1", "name": "web", "mode": "replicated", "replicas": 3, "image": "web:1"}],
    )
    fake_server.on(
        "GET",
        "/environments/sw/services/web/tasks",
        [{"id": "t1", "slot": 1, "node": "h1", "state": "running", "desired_state": "running"}],
    )
    listed = run_cli(capsys, monkeypatch, "services", "-e", "sw", *URL)
    assert listed.code == 0 and "web:1" in listed.out
    tasks = run_cli(capsys, monkeypatch, "services", "tasks", "sw/web", *URL)
    assert tasks.code == 0 and "h1" in tasks.out and "running" in tasks.out
