"""Helpers of the stack service: secret/config contents, variable sources, revision JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetdeck.compose.loader import referenced_variables
from fleetdeck.compose.variables import environment as variable_environment
from fleetdeck.compose.variables import variable_sources
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.stacks.files import compose_files, env_file_values, to_wire

if TYPE_CHECKING:
    from fleetdeck.compose import Project
    from fleetdeck.compose.files import StackFileSet
    from fleetdeck.server.stacks.files import StackFile
    from fleetdeck.server.stacks.repository import Variable
    from fleetdeck.server.store.models_stacks import StackRevision


def collect_files(
    project: Project, fileset: StackFileSet, values: dict[str, str], *, swarm: bool = False,
    stack: str = "STACK",
) -> dict[str, bytes]:  # fmt: skip
    """Contents of the secrets and configs the services use, by ``secret:NAME``/``config:NAME``.

    A secret comes from a stack variable (``environment: VAR``, a secret variable set with
    ``stack vars set --secret``) or from one of the stack's files (``fileset``: never the
    server's disk); a config may also be
    inline ``content``. External ones exist only on a Swarm.
    """
    used = {("secret", r.source) for s in project.services.values() for r in s.secrets}
    used |= {("config", r.source) for s in project.services.values() for r in s.configs}
    result: dict[str, bytes] = {}
    for kind, name in sorted(used):
        entry: Any = (project.secrets if kind == "secret" else project.configs).get(name)
        what = f"{kind} {name!r}"
        if entry is None:
            continue
        if entry.external and swarm:
            continue
        if entry.external:
            raise InvalidInputError(
                f"{what} is external: on a plain host fleetdeck delivers only its own",
                hint="set it as a stack variable and use `environment: VAR`",
            )
        if entry.environment:
            if entry.environment not in values:
                raise InvalidInputError(
                    f"{what} reads variable {entry.environment} which is not set",
                    hint=f"set {entry.environment} as a secret in the stack's Variables tab, "
                    f"or: fleetdeck stack vars set {stack} {entry.environment} --secret",
                )
            result[f"{kind}:{name}"] = values[entry.environment].encode()
        elif entry.file:
            result[f"{kind}:{name}"] = fileset.read(entry.file, f"{what}: file")
        elif kind == "config" and entry.content is not None:
            result[f"{kind}:{name}"] = entry.content.encode()
    return result


#: What a stored secret reads as while the editor validates (it is set; its value stays sealed).
SECRET_STAND_IN = "********"  # noqa: S105 - a placeholder, not a credential


def secrets_masked(variables: list[Variable]) -> dict[str, str]:
    """Stored variables for validation: plain values as they are, each secret a stand-in."""
    return {v.key: SECRET_STAND_IN if v.secret else (v.value or "") for v in variables}


def variable_report(
    fileset: StackFileSet, files: list[StackFile], env_file: str | None,
    shell: dict[str, str], stored: dict[str, str],
) -> list[dict[str, Any]]:  # fmt: skip
    """Each variable the Compose files use: its source and the services that use it.

    ``source`` is ``shell``, ``stored``, ``env_file`` or ``default`` (the rule of
    :mod:`fleetdeck.compose.variables`); values are never part of it. The files are read
    from the stack's own file set, as loading does.
    """
    root = Path(fileset.root)
    paths = [root / name for name in compose_files(files)]
    used = referenced_variables(paths, fileset)
    environ = variable_environment(shell, stored)
    env_values = env_file_values(fileset, root, env_file, environ)
    sources = variable_sources(used, from_shell=shell, from_store=stored, from_env_file=env_values)
    return [
        {"name": name, "source": source, "services": sorted(s for s in used[name] if s)}
        for name, source in sources.items()
    ]


def revision_json(row: StackRevision, *, files: list[StackFile] | None = None) -> dict[str, Any]:
    """A revision as the API serves it (``history`` items; with ``files``, the whole of it)."""
    data: dict[str, Any] = {
        "revision": row.revision,
        "time": row.time.isoformat(),
        "actor": row.actor,
        "environment": row.environment,
        "result": row.result,
        "message": row.message,
        "image_digests": dict(row.image_digests or {}),
        "strategy": row.strategy,
        # How many services the deploy changed (None: recorded before this was kept).
        "changed": None if row.changes is None else len(row.changes),
        "changes": dict(row.changes) if row.changes is not None else None,
    }
    if files is not None:
        data["files"] = [to_wire(f) for f in files]
        data["env_file"] = row.env_file
        data["variables"] = [
            {"key": v["key"], "secret": bool(v.get("secret")),
             "value": None if v.get("secret") else v.get("value")}
            for v in row.variables
        ]  # fmt: skip
    return data
