"""``fleetdeck stack …``: Compose stacks. ``stack config`` resolves files locally, no server."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml

from fleetdeck.cli.output import err_console, print_json

app = typer.Typer(help="Compose stacks: validate, deploy and manage them.", no_args_is_help=True)


class ConfigFormat(StrEnum):
    """How ``stack config`` prints the project."""

    yaml = "yaml"
    json = "json"


FilesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--file",
        "-f",
        help="Compose file; repeat to merge several in order (default: ./compose.yaml).",
        show_default=False,
    ),
]
EnvFileOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--env-file",
        help="Variables file used instead of the project's .env; repeatable.",
        show_default=False,
    ),
]
ProfileOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--profile", help="Enable a profile; repeatable ('*' for all).", show_default=False
    ),
]
ProjectOpt = Annotated[
    str | None,
    typer.Option("--project-name", "-p", help="Project name (default: from the files/directory)."),
]
ConfigFormatOpt = Annotated[
    ConfigFormat, typer.Option("--output", "-o", help="Output format: yaml or json.")
]


@app.command("config")
def config(
    files: FilesOpt = None,
    env_file: EnvFileOpt = None,
    profile: ProfileOpt = None,
    project_name: ProjectOpt = None,
    output: ConfigFormatOpt = ConfigFormat.yaml,
) -> None:
    """Validate Compose files and print the resolved, normalised project.

    Variables are substituted, files merged, profiles applied and every value printed in its
    canonical form (durations in seconds, sizes in bytes, long-syntax ports and volumes).
    Secret values are never read nor printed. Exits 2 naming the file, line and key on bad input.
    """
    from fleetdeck.compose import load_project

    project = load_project(
        files or [],
        project_name=project_name,
        profiles=profile or [],
        env_files=env_file,
    )
    for warning in project.warnings:
        err_console.print(f"warning: {warning}", highlight=False, markup=False)
    data = project.to_data()
    if output is ConfigFormat.json:
        print_json(data)
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def _register_server_commands() -> None:
    # Kept in their own modules (deploy/diff/rollback, and the rest) to stay small.
    from fleetdeck.cli import (
        stacks_adopt,
        stacks_allow,
        stacks_deploy,
        stacks_drift,
        stacks_manage,
    )

    for module in (stacks_deploy, stacks_manage, stacks_adopt, stacks_allow, stacks_drift):
        app.registered_commands.extend(module.app.registered_commands)
    app.add_typer(stacks_manage.variables, name="vars")


_register_server_commands()
