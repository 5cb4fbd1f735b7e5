"""Printing results: Rich tables for people, ``-o json`` with stable keys for scripts."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    """How a command prints its result."""

    table = "table"
    json = "json"


OutputOption = typer.Option(
    OutputFormat.table, "--output", "-o", help="Output format: table (default) or json."
)


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (no colour, no wrapping: it is for programs)."""
    typer.echo(json.dumps(data, indent=2, default=str))


def print_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """Print rows as a Rich table on a terminal, as plain full-width rows otherwise.

    A Rich table fitted to a pipe's assumed 80 columns cuts cells (``ENVIRO…``), which breaks
    ``fleetdeck ps | grep``; off a terminal every cell is printed whole, docker-style.
    """
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if not console.is_terminal:
        typer.echo(plain_table(title, columns, cells), nl=False)
        return
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in cells:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


def plain_table(title: str | None, columns: list[str], rows: list[list[str]]) -> str:
    """Render rows as text columns padded to their widest cell, three spaces apart.

    Nothing is cut, coloured or boxed, and each row stays on one line (newlines in a cell
    become spaces), so ``grep``, ``awk`` and ``cut`` see one record a line.
    """
    lines = [columns, *([cell.replace("\n", " ") for cell in row] for row in rows)]
    widths = [
        max(len(line[i]) if i < len(line) else 0 for line in lines) for i in range(len(columns))
    ]
    text = [title] if title else []
    for line in lines:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(line)]
        text.append("   ".join(padded).rstrip())
    return "\n".join(text) + "\n"
