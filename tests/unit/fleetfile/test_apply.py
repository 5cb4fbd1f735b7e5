"""Apply through a fake client (the HTTP boundary): per-kind undo, and re-running converges."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest

from fleetdeck.errors import ConflictError, InvalidInputError
from fleetdeck.fleetfile.diff import make_plan, stack_order
from fleetdeck.fleetfile.live import RULE_FIELDS, apply_plan, read_live
from fleetdeck.fleetfile.loader import load

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.client.client import FleetdeckClient

NOW = datetime(2030, 1, 1, tzinfo=UTC)

FLEET = """\
managed: [rules]
environments:
  - {name: web, tags: [prod]}
rules:
  - {name: r1, metric: cpu_percent, target: host, threshold: 90}
  - {name: r2, metric: cpu_percent, target: host, threshold: 80}
  - {name: r3, metric: cpu_percent, target: host, threshold: 70}
stacks:
  - name: shop
    environment: web
    files: {compose.yaml: "services: {}\\n"}
"""


class _FakeClient:
    """The client methods apply uses, over dicts; ``fail`` names a call that raises once."""

    def __init__(self) -> None:
        self.envs: dict[str, list[str]] = {}
        self.rules: dict[str, dict[str, Any]] = {"old": {"metric": "mem_percent"}}
        self.stacks: dict[str, dict[str, Any]] = {}
        self.fail: tuple[str, str] | None = None
        self.calls: list[str] = []

    def _call(self, what: str, key: str) -> None:
        self.calls.append(f"{what} {key}")
        if self.fail == (what, key):
            self.fail = None
            raise ConflictError(f"{what} {key} refused")

    def list_environments(self) -> list[Any]:
        return [SimpleNamespace(name=n, kind="agent", docker_host=None, tags=t, groups=[])
                for n, t in self.envs.items()]  # fmt: skip

    def create_environment(self, name: str, tags: list[str], groups: list[str]) -> None:
        self._call("create_environment", name)
        self.envs[name] = tags

    def delete_environment(self, name: str) -> None:
        self._call("delete_environment", name)
        del self.envs[name]

    def list_rules(self) -> list[Any]:
        def rule(name: str, spec: dict[str, Any]) -> Any:
            data: dict[str, Any] = dict.fromkeys(RULE_FIELDS)
            data |= {k: [] for k in ("environments", "tags", "stacks", "labels", "channels")}
            data |= spec
            return SimpleNamespace(name=name, builtin=False, model_dump=lambda by_alias: data)

        return [rule(n, s) for n, s in self.rules.items()]

    def create_rule(self, spec: dict[str, Any]) -> None:
        self._call("create_rule", spec["name"])
        self.rules[spec["name"]] = {k: v for k, v in spec.items() if k != "name"}

    def delete_rule(self, name: str) -> None:
        self._call("delete_rule", name)
        del self.rules[name]

    def update_rule(self, name: str, changes: dict[str, Any]) -> None:
        self._call("update_rule", name)
        self.rules[name] |= changes

    def list_stacks(self) -> list[dict[str, Any]]:
        return [{"name": n, "managed": True} for n in self.stacks]

    def get_stack(self, name: str) -> dict[str, Any]:
        return {"name": name, **self.stacks[name]}

    def validate_stack(self, files: list[Any], env_file: Any, stack: str) -> dict[str, Any]:
        return {"ok": True}

    def deploy_stack(self, name: str, env: str, files: list[dict[str, str]], ef: Any) -> Any:
        self._call("deploy_stack", name)
        stored = [{**f, "sha256": hashlib.sha256(f["content"].encode()).hexdigest()} for f in files]
        self.stacks[name] = {"environment": env, "files": stored, "env_file": ef}
        return iter([{"type": "result", "ok": True}])

    def me(self) -> Any:
        return SimpleNamespace(username="admin")

    def heal_policies(self) -> Any:
        return SimpleNamespace(layers=[])

    def list_registries(self) -> list[Any]:
        return []

    list_users = list_channels = list_silences = list_maintenance = list_registries
    list_autoscale = list_registries


def _apply(fake: _FakeClient, path: Path) -> list[str]:
    client = cast("FleetdeckClient", fake)
    desired = load(path)
    live = read_live(client)
    plan = make_plan(desired, live, now=NOW)
    return apply_plan(client, live, plan, stack_order(desired)).done


def test_a_failing_step_undoes_its_kind_and_a_rerun_finishes(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    fake = _FakeClient()
    fake.fail = ("create_rule", "r3")
    with pytest.raises(ConflictError) as info:
        _apply(fake, path)
    assert "create of rules 'r3' failed" in info.value.message
    assert "2 earlier rules change(s) undone" in info.value.message
    # The kind before it stays applied; rules are as before (r1, r2 deleted again, old kept);
    # stacks, after it, were not touched.
    assert fake.envs == {"web": ["prod"]}
    assert set(fake.rules) == {"old"}
    assert fake.stacks == {}
    done = _apply(fake, path)
    assert done == [
        "created rules 'r1'", "created rules 'r2'", "created rules 'r3'",
        "deleted rules 'old'", "created stacks 'shop'",
    ]  # fmt: skip
    assert _apply(fake, path) == []  # a second apply is a no-op


def test_a_git_source_without_git_support_fails_before_anything(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET + "  - {name: g, environment: web, git: {url: 'https://git.lan/r'}}\n")
    fake = _FakeClient()
    with pytest.raises(InvalidInputError) as info:
        _apply(fake, path)
    assert info.value.message.startswith(f"{path}:12: stack 'g': Git sources are not available")
    assert fake.calls == []
