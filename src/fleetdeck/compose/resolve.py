"""The checks and fill-ins that need the whole (merged) project.

Each file is valid on its own by the time it gets here; what is left is what only the merged
project can tell: every service has an image or a build, every name a service refers to is
defined, ``depends_on`` has no cycle, profiles select the active services, ``env_file``
contents join ``environment``, and the implicit default network and resource names appear.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetdeck.compose.diagnostics import where
from fleetdeck.compose.dotenv import read_env_file
from fleetdeck.compose.model import Network, Project
from fleetdeck.compose.model_parts import ServiceNetwork
from fleetdeck.compose.order import dependencies, find_cycle
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from fleetdeck.compose.files import ProjectFiles
    from fleetdeck.compose.model_service import Service
    from fleetdeck.compose.source import SourceFile


def resolve_project(
    project: Project,
    sources: Sequence[SourceFile],
    *,
    name: str,
    profiles: Sequence[str],
    lookup: Callable[[str], str | None],
    files: ProjectFiles,
) -> Project:
    """Check and complete a merged project, in place; see the module docstring.

    ``files`` is where ``env_file`` files are read (see :mod:`fleetdeck.compose.files`).

    Raises:
        InvalidInputError: The first problem found, located in the files.
    """
    project.name = project_name(name)
    if not project.services:
        named = ", ".join(str(s.path) for s in sources)
        raise InvalidInputError(f"{named}: no service is defined", hint="add a `services:` section")
    for service_name, service in project.services.items():
        _check_service(project, service_name, service, sources)
    _check_sources(project, sources)
    graph = {n: dependencies(n, s) for n, s in project.services.items()}
    cycle = find_cycle(graph)
    if cycle:
        raise InvalidInputError(
            f"{where(sources, ('services', cycle[0], 'depends_on', cycle[1]))}: "
            f"dependency cycle between services: {' -> '.join(cycle)}",
            hint="remove one of these depends_on entries",
        )
    _apply_profiles(project, profiles, sources)
    for service in project.services.values():
        _fill_environment(service, lookup, files)
    _add_defaults(project)
    return project


def project_name(name: str) -> str:
    """A project name as Compose normalises it: lower case, letters, digits, ``_`` and ``-``.

    Raises:
        InvalidInputError: Nothing usable is left.
    """
    normalised = re.sub(r"[^a-z0-9_-]", "", name.lower())
    if not re.match(r"^[a-z0-9]", normalised):
        raise InvalidInputError(
            f"invalid project name {name!r}",
            hint="use lower-case letters, digits, '_' and '-', starting with a letter or digit",
        )
    return normalised


def _require(
    defined: Collection[str],
    name: str,
    what: str,
    path: tuple[Any, ...],
    sources: Sequence[SourceFile],
) -> None:
    if name in defined:
        return
    close = difflib.get_close_matches(name, sorted(defined), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"define it under top-level `{what}s:`"
    raise InvalidInputError(
        f"{where(sources, path)}: service {path[1]!r} refers to undefined {what} {name!r}",
        hint=hint,
    )


def _check_service(
    project: Project, name: str, service: Service, sources: Sequence[SourceFile]
) -> None:
    base = ("services", name)
    if not service.image and not service.build:
        raise InvalidInputError(
            f"{where(sources, base)}: service {name!r} has neither an image nor a build",
            hint="add `image:` or `build:`",
        )
    for dep in service.depends_on:
        _require(project.services, dep, "service", (*base, "depends_on", dep), sources)
    for link in service.links:
        _require(project.services, link.split(":")[0], "service", (*base, "links"), sources)
    mode = service.network_mode or ""
    if mode.startswith("service:"):
        _require(project.services, mode[8:], "service", (*base, "network_mode"), sources)
    if service.network_mode and service.networks:
        raise InvalidInputError(
            f"{where(sources, (*base, 'network_mode'))}: service {name!r} sets both "
            "network_mode and networks",
            hint="they are mutually exclusive: keep one",
        )
    for net in service.networks:
        if net != "default":
            _require(project.networks, net, "network", (*base, "networks", net), sources)
    for index, volume in enumerate(service.volumes):
        if volume.type == "volume" and volume.source:
            _require(project.volumes, volume.source, "volume", (*base, "volumes", index), sources)
    for index, ref in enumerate(service.secrets):
        _require(project.secrets, ref.source, "secret", (*base, "secrets", index), sources)
    for index, ref in enumerate(service.configs):
        _require(project.configs, ref.source, "config", (*base, "configs", index), sources)


def _check_sources(project: Project, sources: Sequence[SourceFile]) -> None:
    """Each secret and config comes from exactly one place."""
    entries: list[tuple[str, str, list[Any]]] = [
        ("secrets", n, [s.file, s.environment, s.external]) for n, s in project.secrets.items()
    ]
    entries += [
        ("configs", n, [c.file, c.environment, c.content, c.external])
        for n, c in project.configs.items()
    ]
    for section, name, origins in entries:
        if sum(1 for origin in origins if origin) != 1:
            keys = "file, environment, content or external" if section == "configs" else ""
            keys = keys or "file, environment or external"
            raise InvalidInputError(
                f"{where(sources, (section, name))}: {section[:-1]} {name!r} must set exactly "
                f"one of {keys}",
            )


def _is_active(service: Service, profiles: Collection[str]) -> bool:
    return not service.profiles or "*" in profiles or bool(set(service.profiles) & set(profiles))


def _apply_profiles(
    project: Project, profiles: Sequence[str], sources: Sequence[SourceFile]
) -> None:
    """Drop services whose profiles are all disabled; an active one may not need them."""
    inactive = {n: s for n, s in project.services.items() if not _is_active(s, profiles)}
    for name, service in project.services.items():
        if name in inactive:
            continue
        for dep in list(dependencies(name, service)):
            if dep not in inactive:
                continue
            needed = dep not in service.depends_on or service.depends_on[dep].required
            if not needed:
                del service.depends_on[dep]
                continue
            wanted = ", ".join(inactive[dep].profiles)
            raise InvalidInputError(
                f"{where(sources, ('services', name, 'depends_on', dep))}: service {name!r} "
                f"depends on {dep!r}, which is not enabled (its profiles: {wanted})",
                hint=f"enable it with --profile {inactive[dep].profiles[0]}, or mark the "
                "dependency `required: false`",
            )
    project.services = {n: s for n, s in project.services.items() if n not in inactive}


def _fill_environment(
    service: Service, lookup: Callable[[str], str | None], files: ProjectFiles
) -> None:
    """``env_file`` contents under ``environment``; bare names taken from the variables."""
    environment: dict[str, str | None] = {}
    for ref in service.env_file:
        path = Path(ref.path)
        if not ref.required and not files.has(path):
            continue
        environment.update(read_env_file(path, lookup, files))
    environment.update(service.environment)
    service.environment = {k: lookup(k) if v is None else v for k, v in environment.items()}


def _add_defaults(project: Project) -> None:
    """The implicit ``default`` network, and Docker names for networks, volumes and secrets."""
    for service in project.services.values():
        if not service.networks and service.network_mode is None:
            service.networks = {"default": ServiceNetwork()}
    uses_default = any("default" in s.networks for s in project.services.values())
    if uses_default and "default" not in project.networks:
        project.networks["default"] = Network()
    sections: list[dict[str, Any]] = [
        project.networks,
        project.volumes,
        project.secrets,
        project.configs,
    ]
    for section in sections:
        for key, resource in section.items():
            if resource.name is None:
                resource.name = key if resource.external else f"{project.name}_{key}"
