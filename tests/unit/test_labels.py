"""fleetdeck.labels: each label key defined once, and one derivation of a container's stack."""

from __future__ import annotations

import ast
from pathlib import Path

from fleetdeck import labels
from fleetdeck.labels import service_of, stack_of

SRC = Path(__file__).resolve().parents[2] / "src" / "fleetdeck"


def test_stack_is_the_compose_project_else_the_swarm_namespace() -> None:
    assert stack_of({labels.COMPOSE_PROJECT: "shop"}) == "shop"
    assert stack_of({labels.STACK_NAMESPACE: "mon"}) == "mon"
    both = {labels.COMPOSE_PROJECT: "shop", labels.STACK_NAMESPACE: "mon"}
    assert stack_of(both) == "shop"
    assert stack_of({labels.COMPOSE_PROJECT: "", labels.STACK_NAMESPACE: "mon"}) == "mon"
    assert stack_of({"other": "x"}) is None


def test_service_is_the_compose_service_else_the_swarm_service() -> None:
    assert service_of({labels.COMPOSE_SERVICE: "web"}) == "web"
    assert service_of({labels.SWARM_SERVICE: "mon_prom"}) == "mon_prom"
    assert service_of({labels.COMPOSE_SERVICE: "", labels.SWARM_SERVICE: "mon_prom"}) == "mon_prom"
    assert service_of({}) is None


def test_no_label_key_is_spelled_outside_fleetdeck_labels() -> None:
    keys = {
        value for name, value in vars(labels).items() if name.isupper() and isinstance(value, str)
    }
    spelled = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "labels.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in keys:
                spelled.append(f"{path.relative_to(SRC)}:{node.lineno} {node.value}")
    assert not spelled, "label keys defined outside fleetdeck.labels:\n" + "\n".join(spelled)


def test_labels_imports_only_the_standard_library() -> None:
    tree = ast.parse((SRC / "labels.py").read_text())
    imported = {
        (n.module or "").split(".")[0] if isinstance(n, ast.ImportFrom) else a.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    assert imported <= {"__future__", "collections", "typing"}
