"""Volume backup policies from Compose files and labels: what is read, what is refused."""

from __future__ import annotations

import pytest

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.volbackups.policy import compose_policies, label_policy

FILE = """
x-fleetdeck:
  backup: {target: nas, schedule: 1d, keep: 14}
services:
  db:
    image: postgres
    x-fleetdeck:
      backup:
        target: nas
        schedule: 6h
        consistency: hook
        pre: pg_dump app > /var/lib/postgresql/data/dump.sql
        volumes: [dbdata]
  web:
    image: web
"""


def test_the_stack_and_a_service_each_declare_a_policy() -> None:
    found = {p.name: p for p in compose_policies("shop", [("compose.yaml", FILE)])}
    assert set(found) == {"shop", "shop/db"}
    stack, db = found["shop"], found["shop/db"]
    assert (stack.stack, stack.service, stack.volumes) == ("shop", None, [])  # every volume
    assert (stack.interval_s, stack.keep_last, stack.consistency) == (86400.0, 14, "none")
    assert (db.service, db.volumes, db.consistency, db.interval_s) == (
        "db",
        ["dbdata"],
        "hook",
        6 * 3600.0,
    )
    assert db.pre_hook is not None and db.pre_hook.startswith("pg_dump")


def test_a_later_file_overrides_an_earlier_ones_fields() -> None:
    override = "services:\n  db:\n    x-fleetdeck:\n      backup: {schedule: 1h}\n"
    found = {
        p.name: p
        for p in compose_policies("shop", [("compose.yaml", FILE), ("override.yaml", override)])
    }
    assert found["shop/db"].interval_s == 3600.0
    assert found["shop/db"].consistency == "hook"  # the rest kept


def test_false_means_no_policy_and_a_file_without_any_has_none() -> None:
    text = "services:\n  db:\n    x-fleetdeck:\n      backup: false\n"
    assert compose_policies("shop", [("compose.yaml", text)]) == []
    assert compose_policies("shop", [("compose.yaml", "services: {web: {image: x}}")]) == []


@pytest.mark.parametrize(
    ("backup", "message"),
    [
        ("{schedule: 1d}", "needs a target"),
        ("{target: nas, schedule: 10s}", "between 1m and 366d"),
        ("{target: nas, schedule: soon}", "bad duration"),
        ("{target: nas, keep: 0}", "keep must be"),
        ("{target: nas, consistency: freeze}", "consistency must be one of"),
        ("{target: nas, consistency: hook}", "needs a pre or post"),
        ("{target: nas, when: daily}", "unknown backup field"),
        ("[nas]", "must be a mapping"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_file_and_place(backup: str, message: str) -> None:
    text = f"services:\n  db:\n    x-fleetdeck:\n      backup: {backup}\n"
    with pytest.raises(InvalidInputError, match=message) as caught:
        compose_policies("shop", [("compose.yaml", text)])
    assert "compose.yaml: services.db.x-fleetdeck" in caught.value.message


def test_labels_declare_a_policy_for_a_stack_container_only() -> None:
    labels = {
        "fleetdeck.backup.target": "nas",
        "fleetdeck.backup.schedule": "12h",
        "fleetdeck.backup.keep": "5",
        "fleetdeck.backup.consistency": "stop",
        "other": "x",
    }
    policy = label_policy(labels, "shop", "db", "shop-db-1")
    assert policy is not None
    assert (policy.name, policy.keep_last, policy.interval_s) == ("label:shop/db", 5, 43200.0)
    assert label_policy(labels, None, None, "loose") is None
    assert label_policy({"other": "x"}, "shop", "db", "shop-db-1") is None
    with pytest.raises(InvalidInputError, match="labels of shop-db-1"):
        label_policy({"fleetdeck.backup.keep": "5"}, "shop", "db", "shop-db-1")
