"""Options every fleet command shares, and the one way a command gets its client.

A fleet command takes ``conn: Connection`` first and is decorated with :func:`connected`,
which gives it ``--url``, ``--token``, ``--ca-cert`` and ``--output/-o`` (declared here, once)
and hands their values over as one :class:`Connection`; resolution of each setting
(flag > FLEETDECK_* variable > saved login) lives in :mod:`fleetdeck.client.config`. The client
(httpx, pydantic) is imported only when a command asks for it, so ``fleetdeck version`` and
``--help`` start without it.
"""

from __future__ import annotations

import functools
import inspect
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Concatenate, ParamSpec, TypeVar

import typer

from fleetdeck.cli.output import OutputFormat, err_console, print_json
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import BaseModel

    from fleetdeck.client import ClientConfig, FleetdeckClient

P = ParamSpec("P")
R = TypeVar("R")

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url", help="Server URL (env FLEETDECK_URL; default: saved login).", show_default=False
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token", help="API token (env FLEETDECK_TOKEN; default: saved login).", show_default=False
    ),
]
CaCertOpt = Annotated[
    str | None,
    typer.Option(
        "--ca-cert",
        help="CA certificate (PEM) to verify the server (env FLEETDECK_CA_CERT).",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="Output format: table or json.")
]


@dataclass(frozen=True)
class Connection:
    """The shared flags of one fleet command: where the server is, and how to print."""

    url: str | None = None
    token: str | None = None
    ca_cert: str | None = None
    output: OutputFormat = OutputFormat.table

    @property
    def json(self) -> bool:
        """Whether the command prints JSON (``-o json``) rather than text for people."""
        return self.output is OutputFormat.json

    def config(self) -> ClientConfig:
        """The server's URL, token and CA the flags, FLEETDECK_* variables or saved login name."""
        from fleetdeck.client.config import resolve_config  # imported on use: pydantic

        return resolve_config(self.url, self.token, self.ca_cert)

    def client(self) -> FleetdeckClient:
        """A client for the server the flags, FLEETDECK_* variables or saved login name."""
        return client_from(self.url, self.token, self.ca_cert)


_SHARED = ("url", "token", "ca_cert")


def connected(
    output: OutputFormat | None = OutputFormat.table,
) -> Callable[[Callable[Concatenate[Connection, P], R]], Callable[P, R]]:
    """Give a command the shared connection flags and pass them on as one :class:`Connection`.

    The command's first parameter (``conn: Connection``) is replaced, in the signature Typer
    reads, by ``--url``, ``--token``, ``--ca-cert`` and (unless ``output`` is None, for commands
    that print nothing but a line) ``--output/-o`` with ``output`` as its default; they come
    last in ``--help``, after the command's own arguments and options, as they always have.

    Args:
        output: The default of ``-o`` (``json`` for commands whose answer is one document),
            or None for a command without ``-o``.
    """

    def decorate(command: Callable[Concatenate[Connection, P], R]) -> Callable[P, R]:
        own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]
        shared = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=None)
            for name, kind in zip(_SHARED, (UrlOpt, TokenOpt, CaCertOpt), strict=True)
        ]
        if output is not None:
            shared.append(
                inspect.Parameter(
                    "output", inspect.Parameter.KEYWORD_ONLY, annotation=OutputOpt, default=output
                )
            )

        @functools.wraps(command)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            flags: dict[str, Any] = {name: kwargs.pop(name, None) for name in (*_SHARED, "output")}
            flags["output"] = flags["output"] or output or OutputFormat.table
            return command(Connection(**flags), *args, **kwargs)

        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [*own, *shared], return_annotation=inspect.Signature.empty
        )
        return run

    return decorate


EnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Only this environment.")]
NodeOpt = Annotated[str | None, typer.Option("--node", "-n", help="Only this node.")]
TargetEnvOpt = Annotated[str, typer.Option("--env", "-e", help="Environment to act in.")]
TargetNodeOpt = Annotated[
    str | None, typer.Option("--node", "-n", help="Node to act on (multi-node environments).")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def client_from(url: str | None, token: str | None, ca_cert: str | None) -> FleetdeckClient:
    """A client for the server the flags, FLEETDECK_* variables or saved login name."""
    from fleetdeck.client import FleetdeckClient, resolve_config  # imported on use: httpx, pydantic

    return FleetdeckClient(resolve_config(url, token, ca_cert))


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as JSON-ready data with its wire keys."""
    return model.model_dump(mode="json")


def emit(output: OutputFormat, data: Any, message: str) -> None:
    """Print ``data`` as JSON, or ``message`` for people."""
    if output is OutputFormat.json:
        print_json(data)
    else:
        typer.echo(message)


def warn_unreachable(nodes: list[str]) -> None:
    """Say on stderr which nodes a fleet-wide listing lacks (the listing itself still prints)."""
    if nodes:
        err_console.print(
            f"warning: no answer from {', '.join(nodes)}; their items are missing",
            highlight=False,
            markup=False,
        )


def split_ref(ref: str, what: str) -> tuple[str, str]:
    """Split ``ENV/NAME`` into its parts; anything else is a usage error naming ``what``."""
    env, sep, name = ref.partition("/")
    if not sep or not env or not name:
        raise InvalidInputError(f"expected ENV/{what.upper()}, got {ref!r}")
    return env, name


def parse_labels(pairs: list[str] | None) -> dict[str, str]:
    """``K=V`` flags as a dict (``K`` alone is an empty value, as Docker does)."""
    labels: dict[str, str] = {}
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        if not key:
            raise InvalidInputError(f"invalid label {pair!r}", hint="use KEY=VALUE")
        labels[key] = value
    return labels


def read_secret(from_stdin: bool, prompt: str) -> str:
    """A password from stdin (``--password-stdin``) or a hidden prompt on a terminal.

    Raises:
        InvalidInputError: Neither is possible (no flag and stdin is not a terminal), or empty.
    """
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        secret = typer.prompt(prompt, hide_input=True)
    else:
        raise InvalidInputError(
            "no password given", hint="pipe it in with --password-stdin, or run on a terminal"
        )
    if not secret:
        raise InvalidInputError("the password is empty")
    return secret


def confirm_or_abort(yes: bool, question: str) -> None:
    """Ask before a destructive step on a terminal; elsewhere demand ``--yes`` instead.

    Raises:
        InvalidInputError: Not on a terminal and ``--yes`` not given.
        typer.Exit: The user said no.
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise InvalidInputError(f"refusing to {question.rstrip('?')} without --yes")
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)


def short_id(value: str | None) -> str:
    """Docker's 12-character short id, without a ``sha256:`` prefix."""
    if not value:
        return ""
    return value.removeprefix("sha256:")[:12]


def human_size(num: float | None) -> str:
    """Bytes as Docker prints them (decimal units: 1.2GB)."""
    if num is None:
        return ""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(num) < 1000 or unit == "TB":
            return f"{num:.0f}{unit}" if unit == "B" else f"{num:.1f}{unit}"
        num /= 1000
    return f"{num:.1f}TB"


#: ``--unused`` of ``images`` and ``volumes``.
UnusedOpt = Annotated[
    bool, typer.Option("--unused", help="Only those no container (running or stopped) uses.")
]


def used_by_cell(in_use: bool | None, names: list[str], shown: int = 3) -> str:
    """``no``, or the first few container names using a thing (``?`` when not known).

    A table cell stays narrow on an engine with many containers; ``-o json`` has every name.
    """
    if in_use is None:
        return "?"
    if not in_use:
        return "no"
    more = f" +{len(names) - shown}" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
