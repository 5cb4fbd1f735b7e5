"""The backup passphrase options shared by ``backup`` and ``backup volume`` commands.

Its own module so that ``cli.backups`` and ``cli.backup_volumes`` both import it and
neither imports the other at import time (each may be imported first).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from fleetdeck.errors import InvalidInputError

__all__ = ["PASSPHRASE_ENV", "PassphraseFile", "passphrase_from"]

PASSPHRASE_ENV = "FLEETDECK_BACKUP_PASSPHRASE"  # noqa: S105 - a variable name

PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help=f"File holding the backup passphrase (else env {PASSPHRASE_ENV}, else the server's).",
    ),
]


def passphrase_from(path: Path | None, required: bool = False) -> str | None:
    """The passphrase from ``--passphrase-file`` or the environment (None: let the server).

    Raises:
        InvalidInputError: The file cannot be read or is empty; none given and ``required``.
    """
    if path is not None:
        from fleetdeck.server.config import read_passphrase_file

        return read_passphrase_file(path)
    value = os.environ.get(PASSPHRASE_ENV) or None
    if value is None and required:
        raise InvalidInputError(
            "no backup passphrase", hint=f"set {PASSPHRASE_ENV} or pass --passphrase-file"
        )
    return value
