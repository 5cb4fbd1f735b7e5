"""Where interpolation variables come from: one rule for ``stack config``, ``diff`` and ``deploy``.

The sources, strongest first (Compose's order, with fleetdeck's stored variables placed
where a Compose user expects them):

1. ``shell``: the environment of the command that runs (``WEB_IMAGE=… fleetdeck stack
   deploy``). Given explicitly for this one command, so it wins, as in Compose. The CLI sends
   only the variables the Compose files reference, never its whole environment.
2. ``stored``: the stack's variables kept by the server (``stack vars set``), the
   stack's standing configuration (not known to ``stack config``, which needs no server).
3. ``env_file``: ``--env-file`` or, without it, the project directory's ``.env``.
4. ``default``: not set anywhere: the file's own default (``${X:-d}``), or empty.

:func:`interpolation_variables` merges them for the loader; :func:`variable_sources` names,
for each variable a file uses, the source its value came from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.compose.dotenv import read_env_file

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from fleetdeck.compose.files import ProjectFiles

SHELL, STORED, ENV_FILE, DEFAULT = "shell", "stored", "env_file", "default"


def environment(shell: Mapping[str, str], stored: Mapping[str, str]) -> dict[str, str]:
    """The variables that win over env files: the shell's over the stored ones."""
    return {**stored, **shell}


def env_file_values(
    environ: Mapping[str, str], env_files: Sequence[Path], files: ProjectFiles | None = None
) -> dict[str, str]:
    """The variables the env files set, read in order (a value may use earlier ones).

    ``files`` is where they are read (:mod:`fleetdeck.compose.files`; the local disk if None).
    """
    merged: dict[str, str] = {}
    for path in env_files:
        values = read_env_file(path, lambda n: environ.get(n, merged.get(n)), files)
        merged.update({k: v for k, v in values.items() if v is not None})
    return merged


def interpolation_variables(
    project_dir: Path,
    environ: Mapping[str, str],
    env_files: Sequence[Path] | None,
    files: ProjectFiles | None = None,
) -> dict[str, str]:
    """What ``${…}`` reads: ``environ`` (shell, stored) over the env files.

    ``env_files`` None means the project directory's ``.env`` when there is one, as Compose
    does; a list (``--env-file``) is used instead of it.
    """
    if env_files is None:
        default = project_dir / ".env"
        env_files = [default] if (files.has(default) if files else default.is_file()) else []
    return {**env_file_values(environ, env_files, files), **environ}


def variable_sources(
    names: Iterable[str],
    *,
    from_shell: Mapping[str, str],
    from_store: Mapping[str, str],
    from_env_file: Mapping[str, str],
) -> dict[str, str]:
    """For each name, the source its value comes from (``default`` when none sets it)."""
    result: dict[str, str] = {}
    for name in sorted(set(names)):
        if name in from_shell:
            result[name] = SHELL
        elif name in from_store:
            result[name] = STORED
        elif name in from_env_file:
            result[name] = ENV_FILE
        else:
            result[name] = DEFAULT
    return result
