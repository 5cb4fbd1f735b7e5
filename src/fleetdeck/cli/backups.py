"""``fleetdeck backup …``: back the server up, list, verify, schedule, and manage targets.

The passphrase a backup is encrypted with comes from ``FLEETDECK_BACKUP_PASSPHRASE`` or
``--passphrase-file`` here (sent to the server for that one run), else from the server's own
setting of the same name (which scheduled backups use). Restoring is ``fleetdeck server
restore`` (it runs where the new server will, without a server).
"""

from __future__ import annotations

from pathlib import Path  # noqa: TC003 - Typer reads the commands' annotations at run time
from typing import Annotated

import typer

from fleetdeck.cli.backup_passphrase import PassphraseFile, passphrase_from
from fleetdeck.cli.common import Connection, connected, dump, emit, read_secret
from fleetdeck.cli.output import print_json, print_table
from fleetdeck.durations import format_duration, parse_duration
from fleetdeck.errors import InvalidInputError
from fleetdeck.sizes import format_bytes

app = typer.Typer(help="Server backups: create, ls, verify, schedule, and their targets.")
target_app = typer.Typer(help="Where backups go: a directory, SFTP or S3 (credentials sealed).")
app.add_typer(target_app, name="target")


@app.command("create")
@connected()
def create(
    conn: Connection,
    target: Annotated[
        str | None,
        typer.Option("--target", help="A target's name or an absolute directory on the server."),
    ] = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Back the server up now (written, checked and read back before it counts)."""
    passphrase = passphrase_from(passphrase_file)
    with conn.client() as client:
        run = client.create_backup(target, passphrase)
    emit(
        conn.output,
        dump(run),
        f"backup {run.snapshot} on {run.target}: {run.status}, {format_bytes(run.size_bytes)}"
        f" ({format_bytes(run.added_bytes)} new) in {format_duration(run.duration_s)}",
    )


@app.command("ls")
@connected()
def ls(
    conn: Connection,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 100,
) -> None:
    """List the server's backups: size, duration, result."""
    with conn.client() as client:
        runs = client.list_backups(limit)
    if conn.json:
        print_json([dump(r) for r in runs])
        return
    rows = [
        [r.snapshot or r.id[:8], r.target, r.status, r.started_at.isoformat(timespec="seconds"),
         format_bytes(r.size_bytes), format_duration(r.duration_s), r.error or ""]
        for r in runs
    ]  # fmt: skip
    print_table(None, ["ID", "TARGET", "STATUS", "STARTED", "SIZE", "TOOK", "ERROR"], rows)


@app.command("verify")
@connected()
def verify(
    conn: Connection,
    snapshot: Annotated[
        str | None, typer.Argument(help="A backup id from `backup ls` (default: the newest).")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Target name or dir.")] = None,
    read_data: Annotated[
        bool, typer.Option("--read-data", help="Read and hash every byte (slower).")
    ] = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Check a target's repository and read a backup back (decrypted)."""
    passphrase = passphrase_from(passphrase_file)
    with conn.client() as client:
        found = client.verify_backup(target, snapshot, passphrase, read_data)
    emit(
        conn.output,
        dump(found),
        f"backup {found.snapshot} on {found.target}: ok ({found.files} files"
        f"{', every byte read' if found.read_data else ''})",
    )


@app.command("schedule")
@connected()
def schedule(
    conn: Connection,
    every: Annotated[
        str | None, typer.Option("--every", help="Back up this often, e.g. 1d, 6h.")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Target name.")] = None,
    off: Annotated[bool, typer.Option("--off", help="Stop scheduled backups.")] = False,
) -> None:
    """Show the schedule, or change it (--every / --target / --off)."""
    with conn.client() as client:
        if every is None and target is None and not off:
            current = client.backup_schedule()
        else:
            interval = None if every is None else parse_duration(every).total_seconds()
            current = client.set_backup_schedule(not off, interval, target)
    state = (
        f"every {format_duration(current.interval_s)} to {current.target}"
        f" (next in {format_duration(current.next_due_in_s)})"
        if current.enabled
        else "off"
    )
    emit(conn.output, dump(current), f"server backups: {state}")


def read_text_file(path: Path | None, what: str) -> str | None:
    """The text of a file the user named (None if none), or one clear error."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc}") from None


@target_app.command("add")
@connected()
def target_add(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Name to refer to it by.")],
    destination: Annotated[
        str,
        typer.Argument(help="/DIR, sftp://USER@HOST[:PORT]/PATH or s3:https://HOST/BUCKET/PATH"),
    ],
    known_hosts: Annotated[
        Path | None, typer.Option("--known-hosts", help="SFTP: the server's host key line(s).")
    ] = None,
    ssh_key: Annotated[
        Path | None, typer.Option("--ssh-key", help="SFTP: private key file (stored sealed).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="SFTP password / S3 secret key from stdin.")
    ] = False,
    access_key_id: Annotated[
        str | None, typer.Option("--access-key-id", help="S3: access key id.")
    ] = None,
    keep_daily: Annotated[int, typer.Option("--keep-daily", help="Daily backups kept.")] = 7,
    keep_weekly: Annotated[int, typer.Option("--keep-weekly", help="Weekly backups kept.")] = 4,
) -> None:
    """Add a backup target (its credentials are write-only)."""
    secret = read_secret(True, "secret") if password_stdin else None
    is_s3 = destination.startswith("s3:")
    with conn.client() as client:
        made = client.add_backup_target(
            name,
            destination,
            known_hosts=read_text_file(known_hosts, "known_hosts file"),
            ssh_key=read_text_file(ssh_key, "SSH key"),
            ssh_password=None if is_s3 else secret,
            access_key_id=access_key_id,
            secret_key=secret if is_s3 else None,
            keep_daily=keep_daily,
            keep_weekly=keep_weekly,
        )
    emit(conn.output, dump(made), f"backup target {made.name} saved ({made.url})")


@target_app.command("ls")
@connected()
def target_ls(conn: Connection) -> None:
    """List backup targets."""
    with conn.client() as client:
        items = client.list_backup_targets()
    if conn.json:
        print_json([dump(t) for t in items])
        return
    rows = [
        [t.name, t.kind, t.url, f"{t.keep_daily}d/{t.keep_weekly}w", t.secret_kind or ""]
        for t in items
    ]
    print_table(None, ["NAME", "KIND", "URL", "KEEP", "CREDENTIAL"], rows)


@target_app.command("rm")
@connected()
def target_rm(conn: Connection, name: Annotated[str, typer.Argument(help="Target name.")]) -> None:
    """Forget a target and its credentials (the backups on it stay)."""
    with conn.client() as client:
        client.remove_backup_target(name)
    emit(conn.output, {"removed": name}, f"backup target {name} removed")


def _add_volume_commands() -> None:
    """``backup volume …`` lives in its own module (imported with this group)."""
    from fleetdeck.cli.backup_volumes import app as volume_app

    app.add_typer(volume_app, name="volume")


_add_volume_commands()
