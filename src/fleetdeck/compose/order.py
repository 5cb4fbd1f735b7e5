"""The order services start in: dependency levels, independent services side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fleetdeck.compose.model import Project, Service


def dependencies(name: str, service: Service) -> list[str]:
    """The services ``service`` needs started first: ``depends_on`` and ``network_mode: service:X``.

    Args:
        name: The service's own name (kept out of its dependencies).
        service: The service.
    """
    needs = list(service.depends_on)
    mode = service.network_mode or ""
    if mode.startswith("service:") and mode[8:] not in needs and mode[8:] != name:
        needs.append(mode[8:])
    return needs


def find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """A dependency cycle of ``graph`` as ``[a, b, …, a]``, or None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep in graph and dep not in state and (cycle := visit(dep)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def startup_order(project: Project) -> list[list[str]]:
    """The project's services in dependency levels.

    Level 0 holds services that depend on nothing; level N services that depend only on
    services of earlier levels. Services of one level can be started in parallel. Names are
    sorted within a level so that plans are stable.

    Raises:
        InvalidInputError: ``depends_on`` forms a cycle (the cycle is named).
    """
    graph = {
        name: [d for d in dependencies(name, svc) if d in project.services]
        for name, svc in project.services.items()
    }
    cycle = find_cycle(graph)
    if cycle:
        raise InvalidInputError(
            f"dependency cycle between services: {' -> '.join(cycle)}",
            hint="remove one of these depends_on entries",
        )
    levels: list[list[str]] = []
    placed: set[str] = set()
    remaining = set(graph)
    while remaining:
        level = sorted(n for n in remaining if all(d in placed for d in graph[n]))
        levels.append(level)
        placed.update(level)
        remaining.difference_update(level)
    return levels
