"""The CLI's start: the lazy root's table, what each command loads, the shared flags.

The root table must match what the modules define (or a command vanishes from --help), a
command must load only its own group (or start-up grows back), and the connection flags
declared once in cli/common must reach a command as one Connection.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import typer
from typer.testing import CliRunner

from fleetdeck.cli.common import Connection, connected
from fleetdeck.cli.main import COMMANDS, app
from fleetdeck.cli.output import OutputFormat

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.cli.lazy import Lazy, LazyGroup


def _root() -> LazyGroup:
    group = typer.main.get_command(app)
    assert type(group).__name__ == "_Root"
    return group  # type: ignore[return-value]


def test_every_command_a_module_defines_is_in_the_table_under_its_name() -> None:
    root = _root()
    by_place: dict[Lazy, set[str]] = defaultdict(set)
    for name, place in COMMANDS.items():
        by_place[place].add(name)
    for place, names in by_place.items():
        some = next(iter(names))
        built = set(root.build(place, some))
        assert built == names, f"{place.module}.{place.attr} defines {sorted(built)}"


def _loaded_after(*args: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``fleetdeck ARGS``."""
    script = (
        "import json, sys\n"
        f"sys.argv = ['fleetdeck', *{list(args)!r}]\n"
        "from fleetdeck.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m, v in sys.modules.items() if v is not None)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_version_loads_neither_the_client_nor_httpx_pydantic_or_rich() -> None:
    for args in (["version"], ["--version"]):
        loaded = _loaded_after(*args)
        assert not _tops(loaded) & {"httpx", "pydantic", "rich"}, args
        assert not {m for m in loaded if m.startswith("fleetdeck.client")}, args
        assert {m for m in loaded if m.startswith("fleetdeck.cli.")} <= {
            "fleetdeck.cli.main",
            "fleetdeck.cli.lazy",
        }, args


def test_a_command_loads_its_own_module_and_no_other_group() -> None:
    loaded = {m for m in _loaded_after("ps", "--help") if m.startswith("fleetdeck.cli.")}
    assert "fleetdeck.cli.containers" in loaded
    assert not loaded & {
        "fleetdeck.cli.stacks",
        "fleetdeck.cli.swarm",
        "fleetdeck.cli.alerts",
        "fleetdeck.cli.lab",
        "fleetdeck.cli.server",
    }


def test_help_still_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = {line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed


def test_connected_gives_a_command_the_shared_flags_as_one_connection() -> None:
    seen: list[tuple[Connection, str]] = []
    probe = typer.Typer()

    @probe.command("one")
    @connected(OutputFormat.json)
    def one(conn: Connection, ref: str) -> None:
        seen.append((conn, ref))

    @probe.command("two")
    @connected(output=None)
    def two(conn: Connection) -> None:
        seen.append((conn, ""))

    runner = CliRunner()
    args = ["one", "x", "--url", "https://u", "--token", "t", "--ca-cert", "c.pem", "-o", "table"]
    assert runner.invoke(probe, args).exit_code == 0
    assert runner.invoke(probe, ["one", "y"]).exit_code == 0
    assert runner.invoke(probe, ["two", "--url", "https://v"]).exit_code == 0
    refused = runner.invoke(probe, ["two", "-o", "json"])
    assert refused.exit_code == 2
    assert seen == [
        (Connection("https://u", "t", "c.pem", OutputFormat.table), "x"),
        (Connection(output=OutputFormat.json), "y"),
        (Connection(url="https://v"), ""),
    ]
    assert seen[1][0].json
    assert not seen[0][0].json


def _commands(group: Any, ctx: Any) -> Iterator[Any]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield command
        if hasattr(command, "list_commands"):
            yield from _commands(command, ctx)


def test_no_help_text_holds_what_rich_would_take_for_markup() -> None:
    # Typer renders help through Rich, which reads "[env FLEETDECK_URL]" as a markup tag and
    # drops it: --url's help once read "Server URL ." on every command.
    import re

    root = _root()
    ctx = typer.Context(root)
    tag = re.compile(r"(?<!\\)\[[a-zA-Z/#][^\]]*\]")
    found = [
        f"{command.name} {param.name}: {param.help}"
        for command in [root, *_commands(root, ctx)]
        for param in command.params
        if getattr(param, "help", None) and tag.search(param.help)
    ]
    assert found == []
