"""Loading a Compose project: read, interpolate, validate and merge files, then resolve.

The steps, in order:

1. variables: the process environment (or ``env``) over the project's ``.env`` (or the
   ``env_files`` given instead, like ``docker compose --env-file``), by the one rule of
   :mod:`fleetdeck.compose.variables`;
2. each file: parsed with line numbers, ``${…}`` substituted, ``!reset``/``!override``
   noted, and validated on its own, so that every error names its file and line;
3. the files merged in order (:mod:`fleetdeck.compose.merge`);
4. the project resolved (:mod:`fleetdeck.compose.resolve`): name, ``env_file``, references,
   profiles, dependency cycles, implicit default network and resource names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from fleetdeck.compose.diagnostics import key_path, validation_error
from fleetdeck.compose.files import LocalFiles, ProjectFiles
from fleetdeck.compose.interpolation import (
    InterpolationError,
    interpolate,
    interpolation_error,
    variable_names,
)
from fleetdeck.compose.merge import apply_resets, merge_projects
from fleetdeck.compose.model import Project
from fleetdeck.compose.resolve import resolve_project
from fleetdeck.compose.source import RESET, LocDict, LocList, SourceFile, read_yaml
from fleetdeck.compose.variables import interpolation_variables
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

#: The files looked for in the working directory when none is given, as Docker Compose does.
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def load_project(
    files: Sequence[Path],
    *,
    project_name: str | None = None,
    env: Mapping[str, str] | None = None,
    profiles: Sequence[str] = (),
    env_files: Sequence[Path] | None = None,
    reader: ProjectFiles | None = None,
) -> Project:
    """Load, merge and resolve Compose files into a :class:`Project`.

    Args:
        files: The Compose files, in override order; empty means the default file of the
            working directory (``compose.yaml`` and its usual aliases).
        project_name: The project's name; by default ``COMPOSE_PROJECT_NAME``, the files'
            top-level ``name``, or the name of the first file's directory.
        env: The variables for interpolation; None means the process environment.
        profiles: Profiles to enable (``*`` enables all); by default ``COMPOSE_PROFILES``.
        env_files: Files of variables to use instead of the project directory's ``.env``.
        reader: Where every file the project names is read (see :mod:`fleetdeck.compose.files`);
            by default the local disk. The server passes a stack's own file set.

    Raises:
        InvalidInputError: Anything wrong with the files, named by file, line and key.
    """
    paths = list(files) or [_default_file(Path.cwd())]
    project_dir = paths[0].absolute().parent
    environ = dict(os.environ if env is None else env)
    source_files = reader if reader is not None else LocalFiles()
    variables = interpolation_variables(project_dir, environ, env_files, source_files)
    unset: set[str] = set()
    sources = [_prepare_file(path, variables.get, unset.add, source_files) for path in paths]
    project: Project | None = None
    for source in sources:
        model = _validate(source)
        if project is None:
            project = model
        else:
            apply_resets(project, source.resets)
            project = merge_projects(project, model, source.overrides)
    assert project is not None  # noqa: S101 - paths is never empty
    enabled = list(profiles) or _split(variables.get("COMPOSE_PROFILES"))
    name = project_name or variables.get("COMPOSE_PROJECT_NAME") or project.name
    project = resolve_project(
        project,
        sources,
        name=name or project_dir.name,
        profiles=enabled,
        lookup=variables.get,
        files=source_files,
    )
    project.warnings.extend(
        f"variable {var} is not set; an empty string is used" for var in sorted(unset)
    )
    return project


def _default_file(directory: Path) -> Path:
    for name in DEFAULT_FILES:
        if (directory / name).is_file():
            return directory / name
    raise InvalidInputError(
        f"no compose file in {directory}",
        hint=f"give one with -f, or create {DEFAULT_FILES[0]}",
    )


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def referenced_variables(
    files: Sequence[Path], reader: ProjectFiles | None = None
) -> dict[str, set[str]]:
    """The variables the files use, each with the services that use it (``""``: top level).

    Walks the values exactly as loading does (``x-*`` blocks skipped), naming every variable
    a value could read, defaults included, whichever are set; a secret's or config's
    ``environment:`` counts too. The CLI sends only these from its shell environment.
    ``reader`` is where the files are read (the local disk if None; a stack's own files
    on the server).

    Raises:
        InvalidInputError: A file cannot be read or is not YAML.
    """
    found: dict[str, set[str]] = {}

    def note(name: str, path: tuple[Any, ...]) -> None:
        where = str(path[1]) if len(path) > 1 and path[0] == "services" else ""
        found.setdefault(name, set()).add(where)

    def names(text: str, path: tuple[Any, ...]) -> str:
        for name in variable_names(text):
            note(name, path)
        if len(path) == 3 and path[0] in ("secrets", "configs") and path[2] == "environment":
            note(text, path)
        return text

    for path in files:
        source = SourceFile(path=path, data=LocDict())
        raw = read_yaml(path, reader if reader is not None else LocalFiles())
        _prepare(raw, (), raw.line, _Context(source, lambda _: None, lambda _: None, names))
    return found


def local_paths(path: Path, reader: ProjectFiles | None = None) -> list[str]:
    """The files and directories one Compose file names, read through its model, not resolved.

    Build contexts (local ones only: a Git URL is not a path), ``env_file`` entries and the
    ``file:`` of top-level secrets and configs, made absolute against the file's directory as
    loading does. A path that uses a variable keeps it (``$`` in it): its value where the
    stack is deployed may differ from the shell's. Nothing the file names is read. The CLI
    sends the stack's own files among these along with the Compose file.

    Raises:
        InvalidInputError: The file cannot be read, is not YAML or is not a Compose file
            (a ``YamlLimitError`` for one over a limit of :mod:`fleetdeck.safeyaml`).
    """
    source = _prepare_file(path, "${{{}}}".format, lambda _: None, reader or LocalFiles())
    project = _validate(source)
    services = project.services.values()
    found = [s.build.context for s in services if s.build and Path(s.build.context).is_absolute()]
    found += [ref.path for s in services for ref in s.env_file]
    found += [secret.file for secret in project.secrets.values() if secret.file]
    found += [config.file for config in project.configs.values() if config.file]
    return found


def _prepare_file(
    path: Path,
    lookup: Callable[[str], str | None],
    unset: Callable[[str], None],
    files: ProjectFiles,
) -> SourceFile:
    source = SourceFile(path=path, data=LocDict())
    raw = read_yaml(path, files)
    source.data = _prepare(raw, (), raw.line, _Context(source, lookup, unset))
    return source


class _Context:
    def __init__(
        self,
        source: SourceFile,
        lookup: Callable[[str], str | None],
        unset: Callable[[str], None],
        names: Callable[[str, tuple[Any, ...]], str] | None = None,
    ) -> None:
        self.source = source
        self.lookup = lookup
        self.unset = unset
        #: Instead of substituting, report the names a value uses (referenced_variables).
        self.names = names


def _prepare(node: Any, path: tuple[Any, ...], line: int, ctx: _Context) -> Any:
    """``node`` with variables substituted; ``!reset``/``!override`` recorded in the source."""
    if isinstance(node, LocDict):
        result = LocDict(line=node.line)
        result.key_lines = dict(node.key_lines)
        if node.override:
            ctx.source.overrides.add(path)
        for key, value in node.items():
            here = (*path, key)
            if value is RESET:
                ctx.source.resets.add(here)
            elif isinstance(key, str) and key.startswith("x-"):
                result[key] = value  # extensions are ignored: not even interpolated
            else:
                result[key] = _prepare(value, here, node.key_lines[key], ctx)
        return result
    if isinstance(node, LocList):
        items = LocList(line=node.line)
        if node.override:
            ctx.source.overrides.add(path)
        for index, (item, item_line) in enumerate(zip(node, node.item_lines, strict=True)):
            if item is RESET:
                continue
            items.append(_prepare(item, (*path, index), item_line, ctx))
            items.item_lines.append(item_line)
        return items
    if isinstance(node, str):
        return _substitute(node, path, line, ctx)
    return node


def _substitute(text: str, path: tuple[Any, ...], line: int, ctx: _Context) -> str:
    if ctx.names is not None:
        return ctx.names(text, path)
    try:
        return interpolate(text, ctx.lookup, ctx.unset)
    except InterpolationError as exc:
        raise interpolation_error(f"{ctx.source.path}:{line}", key_path(path), exc) from None


def _validate(source: SourceFile) -> Project:
    try:
        return Project.model_validate(source.data, context={"base_dir": source.base_dir})
    except ValidationError as exc:
        raise validation_error(exc, source) from None
