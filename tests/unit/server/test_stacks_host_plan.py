"""Stacks on plain hosts, the pure parts: specs, config hashes, plans, names, hardening."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from fleetdeck.compose import load_project
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.stacks.files import StackFile, check_file_name, check_files
from fleetdeck.server.stacks.hardening import findings
from fleetdeck.server.stacks.host.converge import update_policy
from fleetdeck.server.stacks.host.node import ObservedContainer
from fleetdeck.server.stacks.host.plan import ImageChoice, plan_service, repository
from fleetdeck.server.stacks.host.spec import L_HASH, L_KEYS, L_NUMBER, L_SERVICE, build_spec
from fleetdeck.server.stacks.plan import Action, Strategy

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.compose import Project

KEY = b"k" * 32
IMAGE = ImageChoice(ref="r/web@sha256:aa", digest="r/web@sha256:aa", local_id="sha256:img1")


def _project(tmp_path: Path, text: str) -> Project:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return load_project([path], project_name="shop", env={"SECRET": "hunter2"})


def _container(spec_hash: str, keys: dict[str, str], number: int, image: str = "sha256:img1",
               state: str = "running") -> ObservedContainer:  # fmt: skip
    return ObservedContainer.from_inspect({
        "Id": f"c{number}", "Name": f"/shop-web-{number}", "Image": image,
        "State": {"Status": state},
        "Config": {"Image": "r/web", "Labels": {
            L_SERVICE: "web", L_NUMBER: str(number), L_HASH: spec_hash,
            L_KEYS: json.dumps(keys),
        }},
    })  # fmt: skip


WEB = "services:\n  web:\n    image: r/web:1\n    environment: {A: '1', PW: $SECRET}\n"


def test_unchanged_scale_and_changed_keys_are_planned(tmp_path: Path) -> None:
    spec = build_spec(_project(tmp_path, WEB), "web", secret_versions={}, hash_key=KEY)
    same = [_container(spec.config_hash, spec.key_hashes, 1)]
    assert plan_service(spec, IMAGE, same).action is Action.unchanged
    assert plan_service(spec, IMAGE, []).action is Action.create
    more = build_spec(
        _project(tmp_path, WEB + "    deploy: {replicas: 2}\n"), "web", secret_versions={},
        hash_key=KEY,
    )  # fmt: skip
    assert more.config_hash == spec.config_hash  # replicas do not make containers different
    assert plan_service(more, IMAGE, same).action is Action.scale
    changed = build_spec(
        _project(tmp_path, WEB.replace("A: '1'", "A: '2'")), "web", secret_versions={},
        hash_key=KEY,
    )  # fmt: skip
    change = plan_service(changed, IMAGE, same)
    assert change.action is Action.recreate
    assert change.reason == "config changed: environment.A"
    assert "hunter2" not in json.dumps(spec.key_hashes) + change.reason


def test_a_new_digest_of_the_same_tag_is_a_recreate_with_that_reason(tmp_path: Path) -> None:
    spec = build_spec(_project(tmp_path, WEB), "web", secret_versions={}, hash_key=KEY)
    old = [_container(spec.config_hash, spec.key_hashes, 1, image="sha256:old")]
    change = plan_service(spec, IMAGE, old)
    assert change.action is Action.recreate
    assert change.reason.startswith("image digest changed: sha256:old")


def test_fixed_host_ports_force_stop_first(tmp_path: Path) -> None:
    project = _project(tmp_path, WEB + "    ports: ['8080:80']\n")
    spec = build_spec(project, "web", secret_versions={}, hash_key=KEY)
    assert spec.fixed_ports == ["8080/tcp"]
    assert not update_policy(spec, None, Strategy.start_first).start_first
    plain = build_spec(_project(tmp_path, WEB), "web", secret_versions={}, hash_key=KEY)
    assert update_policy(plain, None, Strategy.auto).start_first
    assert not update_policy(plain, None, Strategy.stop_first).start_first


def test_repository_of_references() -> None:
    assert repository("reg:5000/a/web:1") == "reg:5000/a/web"
    assert repository("reg:5000/a/web@sha256:ab") == "reg:5000/a/web"
    assert repository("reg:5000/a/web") == "reg:5000/a/web"


@pytest.mark.parametrize("name", ["../x.yaml", "/etc/passwd", "a/../../b", "a\\b", "", ".env/x"])
def test_file_names_that_escape_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError):
        check_file_name(name)


def test_files_are_checked() -> None:
    assert check_file_name("config/app.conf") == "config/app.conf"
    with pytest.raises(InvalidInputError, match="twice"):
        check_files([StackFile("a.yaml", b""), StackFile("a.yaml", b"")])


def test_hardening_findings_and_blocking(tmp_path: Path) -> None:
    text = (
        "services:\n  bad:\n    image: r/x\n    privileged: true\n    network_mode: host\n"
        "    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n"
        "  good:\n    image: r/x:1\n    user: '1000'\n    mem_limit: 64m\n"
    )
    found = findings(_project(tmp_path, text), {"privileged"})
    rules = {(f.service, f.rule): f.blocking for f in found}
    assert rules[("bad", "privileged")] is True
    assert {"docker-socket", "host-network", "latest-tag", "root-user", "no-memory-limit"} <= {
        rule for service, rule in rules if service == "bad"
    }
    assert not [f for f in found if f.service == "good"]
