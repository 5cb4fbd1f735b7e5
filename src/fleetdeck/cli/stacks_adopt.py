"""``fleetdeck stack adopt``: manage a Compose project or Swarm stack that already runs.

``fleetdeck stack ls`` lists such stacks with MANAGED ``no``. Adopting attaches the file(s)
it was made from; nothing restarts until the next ``stack deploy``, which takes over the
running containers instead of starting a second copy.
"""

from __future__ import annotations

from typing import Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    connected,
)
from fleetdeck.cli.output import err_console, print_json
from fleetdeck.cli.stacks_deploy import StackEnvFileOpt, StackFilesOpt, read_env_file, read_files
from fleetdeck.errors import InvalidInputError

app = typer.Typer()


@app.command("adopt")
@connected()
def adopt(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="The running project's (stack's) name.")],
    files: StackFilesOpt = None,
    env_file: StackEnvFileOpt = None,
    environment: Annotated[
        str, typer.Option("--env", "-e", help="Environment the project runs on.")
    ] = "",
) -> None:
    """Manage a stack found running (stack ls: MANAGED no) from its Compose file(s)."""
    sent = read_files(files)
    if not sent:
        raise InvalidInputError("give the Compose file(s) the stack was made from: -f FILE")
    if not environment:
        raise InvalidInputError("say which environment it runs on: --env ENVIRONMENT")
    with conn.client() as client:
        stack = client.adopt_stack(name, environment, sent, read_env_file(env_file))
    if conn.json:
        print_json(stack)
        return
    typer.echo(f"{name} on {environment} is now managed by fleetdeck (nothing was restarted)")
    for warning in stack.get("warnings", []):
        err_console.print(f"  warning: {warning}", highlight=False, markup=False)
    typer.echo(f"next: fleetdeck stack diff {name}  /  fleetdeck stack deploy {name}")
