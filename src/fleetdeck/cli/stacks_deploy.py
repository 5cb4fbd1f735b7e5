"""``fleetdeck stack deploy|diff|rollback``: plans and deploys through the server.

The Compose files given with ``-f`` are sent by their base names, with the files they refer
to (build contexts, env files, secret/config files) under their directory; ``--env-file`` is
sent as the stack's env file. Files are read as bytes: a binary one (an archive, an image, a
file in another encoding) is sent base64-encoded and arrives byte for byte. Compose files and
env files must be UTF-8 text. Exit status: 0 only when the stack converged and is healthy; a failed
or rolled-back deploy exits 1 with the reason; rejected input exits 2 before anything changed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fleetdeck import safeyaml
from fleetdeck.cli.common import (
    Connection,
    connected,
)
from fleetdeck.cli.output import OutputFormat, err_console, print_json, print_table
from fleetdeck.cli.stack_variables import project_env_file, shell_values, source_label
from fleetdeck.client.stack_files import stack_file
from fleetdeck.errors import FleetdeckError, InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.wire.gitops import SyncResult

StackFilesOpt = Annotated[
    list[Path] | None,
    typer.Option("--file", "-f", help="Compose file; repeat to merge several in order.",
                 show_default=False),
]  # fmt: skip
StackEnvFileOpt = Annotated[
    Path | None,
    typer.Option("--env-file", help="Variables file sent with the stack (default: the "
                 "project's .env). Shell variables the files use win over it."),
]  # fmt: skip
StackEnvOpt = Annotated[
    str | None, typer.Option("--env", "-e", help="Environment to deploy to (default: stored).")
]
StrategyOpt = Annotated[
    str,
    typer.Option("--strategy", help="How replicas are replaced: auto, start-first or stop-first."),
]
_STRATEGIES = ("auto", "start-first", "stop-first")
GitOpt = Annotated[
    str | None,
    typer.Option("--git", help="Deploy from this Git repository (URL or `repos` name)."),
]
RefOpt = Annotated[str, typer.Option("--ref", help="With --git: branch, tag or commit.")]
PathOpt = Annotated[
    str, typer.Option("--path", help="With --git: the stack's directory in the repository.")
]
SubmodulesOpt = Annotated[
    bool, typer.Option("--submodules", help="With --git: check out submodules too.")
]


def read_text(path: Path, what: str) -> str:
    """A Compose or env file's text, or InvalidInputError naming it (unreadable, not UTF-8)."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"{what} {path} is not UTF-8 text", hint="save it as UTF-8"
        ) from None


def read_files(files: list[Path] | None) -> list[dict[str, str]] | None:
    """The ``-f`` files as ``{name, content}`` (base names must differ), then what they use."""
    if not files:
        return None
    result: list[dict[str, str]] = []
    for path in files:
        if any(item["name"] == path.name for item in result):
            raise InvalidInputError(f"two files are called {path.name}", hint="rename one")
        result.append({"name": path.name, "content": read_text(path, "Compose file")})
    names = {item["name"] for item in result}
    return result + [f for f in related_files(files) if f["name"] not in names]


def related_files(files: list[Path]) -> list[dict[str, str]]:
    """Files the Compose files refer to under their directory, sent along with them.

    Paths that leave the directory (through ``..``, an absolute path or a symlink), or hold
    variables, are not sent: the server, which reads nothing but the files it is sent,
    refuses what names them.
    """
    from fleetdeck.compose.loader import local_paths

    root = files[0].resolve().parent
    result: dict[str, bytes] = {}
    for compose in files:
        try:
            refs = local_paths(compose)
        except safeyaml.YamlLimitError:
            raise  # an alias bomb or a huge file: refused here, at once
        except InvalidInputError:
            continue  # the server names the problem with its line
        for ref in refs:
            if "$" in ref:
                continue
            target = (compose.resolve().parent / ref).resolve()
            if not target.is_relative_to(root) or target == root and ref not in (".", "./"):
                continue
            candidates = [target] if target.is_file() else sorted(target.rglob("*"))
            for path in candidates:
                # Only the stack's own files: a symlink that leads out of it is not sent.
                inside = path.resolve().is_relative_to(root)
                if inside and path.is_file() and ".git" not in path.parts:
                    name = str(path.relative_to(root))
                    if path not in [c.resolve() for c in files]:
                        result.setdefault(name, _read_bytes(path))
    return [stack_file(name, data) for name, data in sorted(result.items())]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None


def read_env_file(path: Path | None) -> str | None:
    """The ``--env-file`` text."""
    if path is None:
        return None
    return read_text(path, "env file")


def finding_lines(findings: list[dict[str, Any]]) -> list[str]:
    """Hardening findings for people: one line per rule and message, blocking ones first.

    ``[warn] s0, s1, s2: has no memory limit (no-memory-limit)`` reads better than one line
    per service per rule once a stack has more than a few services.
    """
    grouped: dict[tuple[bool, str, str], list[str]] = {}
    for item in findings:
        key = (not item.get("blocking"), item["rule"], item["message"])
        grouped.setdefault(key, []).append(item["service"])
    lines = []
    for (warning, rule, message), services in sorted(grouped.items(), key=lambda kv: kv[0][0]):
        level = "warn" if warning else "block"
        lines.append(f"[{level}] {', '.join(services)}: {message} ({rule})")
    return lines


def _plan_lines(plan: dict[str, Any]) -> None:
    for change in plan.get("changes", []):
        if change["action"] != "unchanged":
            err_console.print(f"  {change['action']:<9} {change['service']}: {change['reason']}",
                              highlight=False, markup=False)  # fmt: skip
    for line in finding_lines(plan.get("findings", [])):
        err_console.print(f"  {line}", highlight=False, markup=False)
    for note in plan.get("notes", []):
        err_console.print(f"  note: {note}", highlight=False, markup=False)


def _show(events: Iterator[dict[str, Any]]) -> dict[str, Any] | None:
    """Show a deploy stream to people; return its result."""
    result: dict[str, Any] | None = None
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err_console, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("planning", total=None)
        for item in events:
            kind = item.get("type")
            if kind == "plan":
                _plan_lines(item)
            elif kind == "progress":
                bar.update(task, description=f"{item['step']}: {item['message']}")
                if item["status"] in ("ok", "failed") and item["step"] != "health":
                    mark = "✓" if item["status"] == "ok" else "✗"
                    bar.console.print(f"{mark} {item['message']}", highlight=False, markup=False)
            elif kind == "result":
                result = item
            elif "error" in item:
                result = {"ok": False, "message": item.get("message") or item["error"]}
    return result


def follow_deploy(events: Iterator[dict[str, Any]], output: OutputFormat) -> None:
    """Show a deploy stream (progress for people, JSON lines for scripts); exit by the result."""
    result: dict[str, Any] | None = None
    if output is OutputFormat.json:
        for item in events:
            print_json(item)
            if item.get("type") == "result":
                result = item
    else:
        result = _show(events)
    if result is None:
        raise FleetdeckError("the deploy stream ended without a result")
    if not result.get("ok"):
        err_console.print(f"deploy failed: {result.get('message')}", highlight=False, markup=False)
        sys.exit(1)
    if output is not OutputFormat.json:
        typer.echo(f"revision {result.get('revision')}: {result.get('message')}")


def show_sync(result: SyncResult, output: OutputFormat) -> None:
    """Print a Git sync's result; exit 1 when it failed."""
    if output is OutputFormat.json:
        print_json(result.model_dump(mode="json"))
    else:
        commit = (result.commit or "-")[:12]
        revision = f" revision {result.revision}" if result.revision is not None else ""
        typer.echo(f"{result.stack}: {result.result} at {commit}{revision}: {result.message}")
    if result.result == "failed":
        if output is OutputFormat.json:
            err_console.print(f"sync failed: {result.message}", highlight=False, markup=False)
        sys.exit(1)


app = typer.Typer()


@app.command("sync")
@connected()
def sync(conn: Connection, name: Annotated[str, typer.Argument(help="Stack name.")]) -> None:
    """Fetch a Git stack's ref now and deploy it if it changed (a stopped stack too)."""
    with conn.client() as client:
        result = client.sync_stack(name)
    show_sync(result, conn.output)


@app.command("deploy")
@connected()
def deploy(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Stack name.")],
    files: StackFilesOpt = None,
    env_file: StackEnvFileOpt = None,
    env: StackEnvOpt = None,
    strategy: StrategyOpt = "auto",
    git: GitOpt = None,
    ref: RefOpt = "main",
    path: PathOpt = "",
    submodules: SubmodulesOpt = False,
) -> None:
    """Deploy a stack; exit 0 only when it converged and is healthy.

    With --git, the stack's files come from a repository (a URL or a `repos` name): -f and
    --env-file then name files inside it, relative to --path; it is polled and its webhook
    redeploys it (docs/gitops.md).
    """
    if strategy not in _STRATEGIES:
        raise InvalidInputError(f"--strategy must be one of {', '.join(_STRATEGIES)}")
    if git is not None:
        compose = [str(f) for f in files or []]
        with conn.client() as client:
            result = client.set_stack_source(
                name, env, git, ref=ref, path=path, compose_files=compose,
                env_file=str(env_file) if env_file else None, submodules=submodules,
            )  # fmt: skip
        show_sync(result, conn.output)
        return
    env_file = project_env_file(files, env_file)
    with conn.client() as client:
        shell = shell_values(client, name, files)
        events = client.deploy_stack(
            name, env, read_files(files), read_env_file(env_file), strategy, shell
        )
        follow_deploy(events, conn.output)


@app.command("diff")
@connected()
def diff(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Stack name.")],
    files: StackFilesOpt = None,
    env_file: StackEnvFileOpt = None,
    env: StackEnvOpt = None,
) -> None:
    """Show what a deploy would change, service by service (changes nothing).

    Each variable the files use is named with where its value comes from: the shell, the
    stack's stored variables, the env file, or nowhere (the file's default).
    """
    env_file = project_env_file(files, env_file)
    with conn.client() as client:
        shell = shell_values(client, name, files)
        plan = client.diff_stack(name, env, read_files(files), read_env_file(env_file), shell)
        drift = deployed_drift(client, name)
    used = plan.get("variables") or []
    if conn.json:
        drifts = {s["service"]: s["differences"] for s in (drift or {}).get("services", [])}
        for change in plan["changes"]:
            change["variables"] = {
                v["name"]: v["source"] for v in used if change["service"] in v["services"]
            }
            if drift is not None:
                change["drift"] = drifts.get(change["service"], [])
        print_json(plan["changes"])
        return
    rows = [[c["service"], c["action"], c["reason"]] for c in plan["changes"]]
    print_table(None, ["SERVICE", "ACTION", "REASON"], rows)
    for line in finding_lines(plan["findings"]):
        typer.echo(line)
    for note in plan["notes"]:
        typer.echo(f"note: {note}")
    for var in used:
        typer.echo(f"variable {var['name']}: from {source_label(var['source'], env_file)}")
    if drift is not None:
        from fleetdeck.cli.stacks_drift import print_drift

        print_drift(drift)


def deployed_drift(client: Any, name: str) -> dict[str, Any] | None:
    """The live-vs-revision drift of a stored stack; None for one not stored yet."""
    from fleetdeck.errors import NotFoundError

    try:
        report: dict[str, Any] = client.stack_drift(name)
    except NotFoundError:
        return None
    return report


@app.command("rollback")
@connected()
def rollback(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Stack name.")],
    revision: Annotated[int | None, typer.Argument(help="Revision (default: previous).")] = None,
) -> None:
    """Deploy an earlier revision exactly: files, variables and image digests."""
    with conn.client() as client:
        follow_deploy(client.rollback_stack(name, revision), conn.output)
