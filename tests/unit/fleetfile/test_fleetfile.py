"""Fleet files: bounded parsing with file:line errors, references and cycles, the plan."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleetdeck.errors import InvalidInputError
from fleetdeck.fleetfile.diff import Live, make_plan, render, stack_order, to_json
from fleetdeck.fleetfile.loader import load
from fleetdeck.fleetfile.model import json_schema

NOW = datetime(2030, 1, 1, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]

BASE = """\
managed: [stacks]
environments:
  - name: web
    tags: [prod, eu]
stacks:
  - name: shop
    environment: web
    files:
      compose.yaml: |
        services:
          web: {image: "10.0.0.1:5000/web:1"}
channels:
  - name: ops
    url: {env: FF_OPS_URL}
    min_severity: warning
rules:
  - name: cpu-high
    metric: cpu_percent
    operator: ">"
    threshold: 90
    for: 5m
    channels: [ops]
"""


def write(tmp_path: Path, text: str, name: str = "fleet.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fail(path: Path, live: Live | None = None) -> str:
    with pytest.raises(InvalidInputError) as info:
        make_plan(load(path), live or Live(), now=NOW)
    return info.value.message


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FF_OPS_URL", "json://hooks.example.com/secret-token")


def test_a_new_fleet_plans_a_create_per_object_with_secrets_masked(tmp_path: Path) -> None:
    plan = make_plan(load(write(tmp_path, BASE)), Live(), now=NOW)
    assert [(c.kind, c.key, c.action) for c in plan.changes] == [
        ("environments", "web", "create"),
        ("channels", "ops", "create"),
        ("rules", "cpu-high", "create"),
        ("stacks", "shop", "create"),
    ]
    text = "\n".join(render(plan))
    assert "secret-token" not in text and "(sensitive)" in text
    assert "secret-token" not in json.dumps(to_json(plan))
    rule = plan.of("rules")[0]
    assert {f.name: f.new for f in rule.fields}["for"] == 300.0
    assert text.endswith("Plan: 4 to create, 0 to update, 0 to replace, 0 to delete.")


def _live_matching() -> Live:
    live = Live()
    live.objects["environments"]["web"] = {
        "kind": "agent", "docker_host": None, "tags": ["eu", "prod"], "groups": ["g1"],
    }  # fmt: skip
    live.objects["channels"]["ops"] = {
        "url": "json://hooks.example.com/***", "min_severity": "warning", "enabled": True,
    }  # fmt: skip
    live.objects["rules"]["cpu-high"] = {
        "metric": "cpu_percent", "operator": ">", "threshold": 90.0, "for": 300.0,
        "channels": ["ops"], "severity": "warning", "description": "kept",
    }  # fmt: skip
    return live


def test_fields_left_out_are_kept_and_only_managed_kinds_are_pruned(tmp_path: Path) -> None:
    live = _live_matching()
    live.objects["stacks"]["old"] = {"environment": "web", "files": {"compose.yaml": "ab"}}
    live.objects["rules"]["other"] = {"metric": "mem_percent"}  # rules are not managed
    live.objects["environments"]["lab"] = {"kind": "agent", "tags": [], "groups": []}
    plan = make_plan(load(write(tmp_path, BASE)), live, now=NOW)
    assert [(c.kind, c.key, c.action) for c in plan.changes] == [
        ("stacks", "shop", "create"),
        ("stacks", "old", "delete"),
    ]


def test_a_changed_field_is_an_update_of_that_field_only(tmp_path: Path) -> None:
    live = _live_matching()
    text = BASE.replace("threshold: 90", "threshold: 95").replace("[prod, eu]", "[prod]")
    plan = make_plan(load(write(tmp_path, text)), live, now=NOW)
    updates = {(c.kind, c.key): c for c in plan.changes if c.action == "update"}
    assert [(f.name, f.old, f.new) for f in updates["rules", "cpu-high"].fields] == [
        ("threshold", 90.0, 95.0)
    ]
    assert [(f.name, f.old, f.new) for f in updates["environments", "web"].fields] == [
        ("tags", ["eu", "prod"], ["prod"])
    ]
    assert "~ threshold: 90.0 -> 95" in "\n".join(render(plan))


def test_a_channel_url_on_a_new_host_is_an_update_shown_masked(tmp_path: Path) -> None:
    live = _live_matching()
    live.objects["channels"]["ops"]["url"] = "json://old.example.com/***"
    plan = make_plan(load(write(tmp_path, BASE)), live, now=NOW)
    change = next(c for c in plan.changes if c.kind == "channels")
    assert change.action == "update"
    assert "~ url: (sensitive) -> (sensitive)" in "\n".join(render(plan))


def test_an_unknown_key_fails_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("    min_severity: warning", "    min_sevrity: warning"))
    message = fail(path)
    assert message.startswith(f"{path}:15: unknown key 'min_sevrity'")


def test_a_reference_to_nothing_fails_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("channels: [ops]", "channels: [pager]"))
    message = fail(path)
    assert message.startswith(f"{path}:22: rules 'cpu-high' refers to channels 'pager'")


def test_a_reference_to_a_pruned_object_fails(tmp_path: Path) -> None:
    text = BASE.replace("managed: [stacks]", "managed: [stacks, environments]").replace(
        "environment: web", "environment: lab"
    )
    live = _live_matching()
    live.objects["environments"]["lab"] = {"kind": "agent", "tags": [], "groups": []}
    assert "it is pruned" in fail(write(tmp_path, text), live)


def test_a_depends_on_cycle_fails_naming_it(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    extra = (
        "stacks:\n"
        "  - {name: a, environment: web, depends_on: [b], files: {c.yaml: 'services: {}'}}\n"
        "  - {name: b, environment: web, depends_on: [a], files: {c.yaml: 'services: {}'}}\n"
    )
    second = write(tmp_path, extra, "more.yaml")
    message = fail(tmp_path)
    assert message.startswith(f"{second}:2: depends_on has a cycle: a -> b -> a")


def test_depends_on_orders_stacks(tmp_path: Path) -> None:
    extra = (
        "stacks:\n"
        "  - {name: a, environment: web, depends_on: [b], files: {c.yaml: 'services: {}'}}\n"
        "  - {name: b, environment: web, files: {c.yaml: 'services: {}'}}\n"
    )
    write(tmp_path, BASE)
    write(tmp_path, extra, "more.yaml")
    assert stack_order(load(tmp_path)) == ["shop", "b", "a"]


def test_an_object_given_twice_in_a_directory_fails_naming_both(tmp_path: Path) -> None:
    first = write(tmp_path, BASE, "a.yaml")
    second = write(tmp_path, "environments:\n  - name: web\n", "b.yaml")
    with pytest.raises(InvalidInputError) as info:
        load(tmp_path)
    assert info.value.message.startswith(f"{second}:2: environments 'web' is given twice")
    assert f"{first}:3" in info.value.message


def test_an_alias_bomb_is_refused_while_parsing(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(InvalidInputError) as info:
        load(path)
    assert "YAML refused" in info.value.message and str(path) in info.value.message


def test_a_stack_file_path_outside_the_directory_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "fleet"
    inner.mkdir()
    (tmp_path / "secret.yaml").write_text("services: {}\n")
    text = (
        "stacks:\n  - name: s\n    environment: web\n    files:\n"
        "      c.yaml: {path: ../secret.yaml}\n"
    )
    path = write(inner, text)
    with pytest.raises(InvalidInputError) as info:
        load(path)
    assert info.value.message.startswith(f"{path}:5:")
    assert "outside the fleet directory" in info.value.message


def test_an_unset_secret_variable_fails_plan_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FF_OPS_URL")
    path = write(tmp_path, BASE)
    assert fail(path).startswith(f"{path}:14: the environment variable FF_OPS_URL is not set")


def test_a_silence_over_is_a_note_not_a_change(tmp_path: Path) -> None:
    text = "silences:\n  - matchers: [rule=x]\n    ends_at: 2020-01-01T00:00:00Z\n"
    plan = make_plan(load(write(tmp_path, text)), Live(), now=NOW)
    assert plan.empty and "is over" in plan.notes[0]


def test_a_naive_time_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "silences:\n  - matchers: [rule=x]\n    ends_at: 2031-01-01T00:00:00\n")
    with pytest.raises(InvalidInputError) as info:
        load(path)
    assert info.value.message.startswith(f"{path}:3: silences[0].ends_at")


def test_the_schema_in_the_repository_is_the_models() -> None:
    stored = json.loads((REPO / "docs" / "fleet.schema.json").read_text())
    assert stored == json_schema(), "run `fleetdeck schema > docs/fleet.schema.json`"


def test_a_managed_scope_prunes_only_matching_keys(tmp_path: Path) -> None:
    text = BASE.replace("managed: [stacks]", "managed: [{kind: stacks, match: 'ff-*'}]")
    live = _live_matching()
    for name in ("ff-old", "theirs"):
        live.objects["stacks"][name] = {"environment": "web", "files": {}}
    plan = make_plan(load(write(tmp_path, text)), live, now=NOW)
    assert [(c.key, c.action) for c in plan.of("stacks")] == [
        ("shop", "create"),
        ("ff-old", "delete"),
    ]


def test_a_rule_target_is_a_field_and_a_heal_target_is_the_key(tmp_path: Path) -> None:
    text = (
        "rules:\n  - {name: r, metric: cpu_percent, target: host}\n"
        "heal:\n  - {target: default, grace: 30s}\n"
    )
    plan = make_plan(load(write(tmp_path, text)), Live(), now=NOW)
    fields = {c.kind: {f.name: f.new for f in c.fields} for c in plan.changes}
    assert fields == {"rules": {"metric": "cpu_percent", "target": "host"}, "heal": {"grace": 30.0}}


@pytest.mark.parametrize(
    ("stack", "needle"),
    [
        ("{name: s, environment: web}", "exactly one of files, git"),
        ("{name: s, environment: web, files: {}}", "at least one file"),
        ("{name: s, environment: web, files: {a.yaml: x}, git: {url: u}}", "exactly one"),
    ],
)
def test_a_stack_needs_files_or_git(tmp_path: Path, stack: str, needle: str) -> None:
    path = write(tmp_path, f"stacks:\n  - {stack}\n")
    with pytest.raises(InvalidInputError) as info:
        load(path)
    assert info.value.message.startswith(f"{path}:2: stacks[0]") and needle in info.value.message


def test_a_secret_reference_takes_one_source(tmp_path: Path) -> None:
    path = write(tmp_path, "channels:\n  - name: c\n    url: {env: A, file: b}\n")
    with pytest.raises(InvalidInputError) as info:
        load(path)
    assert info.value.message.startswith(f"{path}:3: channels[0].url")


def test_autoscale_keeps_the_servers_other_fields_and_checks_its_scope(tmp_path: Path) -> None:
    live = _live_matching()
    live.objects["stacks"]["shop"] = {"environment": "web", "files": {}}
    live.objects["autoscale"]["shop/web"] = {"kind": "stack", "min": 1, "max": 4, "cpu": 70.0}
    text = "autoscale:\n  - {service: shop/web, min: 1, max: 6}\n"
    plan = make_plan(load(write(tmp_path, text)), live, now=NOW)
    assert [
        (c.key, c.action, [(f.name, f.old, f.new) for f in c.fields]) for c in plan.changes
    ] == [("shop/web", "update", [("max", 4, 6)])]
    path = write(tmp_path, "autoscale:\n  - {service: nope/web, min: 1, max: 2}\n")
    assert fail(path, live).startswith(f"{path}:2: autoscale policy 'nope/web' names 'nope'")
