"""fleetdeck's own modules import each other without cycles.

A cycle makes the import order matter, hides which module owns a type, and is the first thing
that breaks when a module is split. The graph is built from the source with :mod:`ast`, so the
test needs nothing importable: an edge is every ``import``/``from … import`` of a fleetdeck
module at module level, including those under ``if TYPE_CHECKING:`` (a cycle there is still a
design cycle, and mypy has to resolve it). Imports inside functions are left out on purpose:
a lazy import is how a cycle is legitimately broken at run time (and how the CLI stays fast).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "fleetdeck"


def _module_name(path: Path) -> str:
    """The dotted name of the module at ``path`` (``pkg/__init__.py`` is ``pkg``)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports at module level, descending into ``if``/``try`` blocks but not into functions."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                pending.extend(handler.body)
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a (possibly relative) ``from … import`` names."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Each fleetdeck module mapped to the fleetdeck modules it imports at module level."""
    files = {_module_name(p): p for p in (SRC / PACKAGE).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in _top_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve(name, is_package, node)
                # ``from pkg import mod`` names a module; ``from mod import thing`` the module.
                named = (f"{base}.{alias.name}" for alias in node.names)
                targets = [target if target in files else base for target in named]
            for target in targets:
                # ``import a.b.c`` also imports a and a.b; the edge that matters is the deepest
                # known module (packages' __init__ are imported too, but rarely form cycles).
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or not."""
    seen: set[str] = set()
    pending = list(graph[start])
    while pending:
        node = pending.pop()
        if node not in seen:
            seen.add(node)
            pending.extend(graph.get(node, ()))
    return seen


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, each sorted.

    Two modules share a component when each reaches the other: a reachability pass per
    module is quadratic, which a few hundred modules afford, and simpler to trust than Tarjan.
    """
    reach = {name: _reachable(graph, name) for name in graph}
    found: set[tuple[str, ...]] = set()
    for name in graph:
        component = {name} | {other for other in reach[name] if name in reach[other]}
        if len(component) > 1:
            found.add(tuple(sorted(component)))
    return sorted(list(c) for c in found)


def test_strongly_connected_finds_a_cycle_and_ignores_a_chain() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_graph_sees_type_checking_imports() -> None:
    graph = import_graph()
    # swarm_applier names Fleet only under ``if TYPE_CHECKING:``.
    assert "fleetdeck.server.fleet.service" in graph["fleetdeck.server.stacks.swarm.applier"]


def test_no_import_cycles() -> None:
    cycles = strongly_connected(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_lazy_imports_inside_functions_are_not_edges() -> None:
    tree = ast.parse(
        "import a\nif TYPE_CHECKING:\n    from b import c\ndef f():\n    import lazy\n"
    )
    imports = _top_level_imports(tree)
    found = {n.names[0].name if isinstance(n, ast.Import) else n.module for n in imports}
    assert found == {"a", "b"}
