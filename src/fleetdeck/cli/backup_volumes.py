"""``fleetdeck backup volume …``: back service volumes up, list, restore, and their policies.

The copy runs on the node where the volume lives, through its agent (restic in a helper
container next to the volume); see docs/disaster-recovery.md, "Volume backups".
"""

from __future__ import annotations

from typing import Annotated

import typer

from fleetdeck.cli.backup_passphrase import PassphraseFile, passphrase_from
from fleetdeck.cli.common import Connection, connected, dump, emit
from fleetdeck.cli.output import print_json, print_table
from fleetdeck.durations import format_duration, parse_duration
from fleetdeck.sizes import format_bytes

app = typer.Typer(help="Volume backups: create, ls, restore, and their policies.")
policy_app = typer.Typer(help="What to back up, when, where, and how consistently.")
app.add_typer(policy_app, name="policy")


@app.command("create")
@connected()
def create(
    conn: Connection, policy: Annotated[str, typer.Argument(help="The policy to run now.")]
) -> None:
    """Back a policy's volumes up now (stopping, pausing or hooking the service as it says)."""
    with conn.client() as client:
        runs = client.create_volume_backup(policy)
    if conn.json:
        print_json([dump(r) for r in runs])
        return
    for r in runs:
        line = (
            f"volume {r.volume} on {r.environment}/{r.node}: {r.status}, snapshot {r.snapshot}, "
            f"{format_bytes(r.size_bytes)} ({format_bytes(r.added_bytes)} new) in "
            f"{format_duration(r.duration_s)}"
        )
        if r.error:
            line += f" — {r.error}"
        if r.restart_error:
            line += f" — restart failed: {r.restart_error}"
        typer.echo(line)


@app.command("ls")
@connected()
def ls(
    conn: Connection,
    policy: Annotated[str | None, typer.Option("--policy", help="Only this policy's.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 100,
) -> None:
    """List volume backups: where, size, duration, result."""
    with conn.client() as client:
        runs = client.list_volume_backups(limit, policy)
    if conn.json:
        print_json([dump(r) for r in runs])
        return
    rows = [
        [r.id[:12], r.policy or "", f"{r.environment}/{r.node}", r.volume, r.status,
         r.snapshot or "", r.started_at.isoformat(timespec="seconds"),
         format_bytes(r.size_bytes), format_duration(r.duration_s),
         r.restart_error or r.error or ""]
        for r in runs
    ]  # fmt: skip
    headers = ["ID", "POLICY", "NODE", "VOLUME", "STATUS", "SNAPSHOT", "STARTED", "SIZE", "TOOK"]
    print_table(None, [*headers, "ERROR"], rows)


@app.command("restore")
@connected()
def restore(
    conn: Connection,
    backup: Annotated[str, typer.Argument(help="A backup's id or snapshot (backup volume ls).")],
    environment: Annotated[
        str | None, typer.Option("--env", "-e", help="Environment to restore into.")
    ] = None,
    node: Annotated[str | None, typer.Option("--node", help="Node to restore onto.")] = None,
    volume: Annotated[
        str | None, typer.Option("--volume", help="Volume to restore into (made if missing).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Empty the volume first (else it must be empty).")
    ] = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Restore a volume backup: into the same volume, a new one, or one on another node."""
    passphrase = passphrase_from(passphrase_file)
    with conn.client() as client:
        done = client.restore_volume_backup(
            backup, environment=environment, node=node, volume=volume, replace=replace or None,
            passphrase=passphrase,
        )  # fmt: skip
    emit(
        conn.output,
        dump(done),
        f"snapshot {done.snapshot} restored into volume {done.volume} on "
        f"{done.environment}/{done.node}{' (new)' if done.created else ''} in "
        f"{format_duration(done.duration_s)}",
    )


@policy_app.command("add")
@connected()
def policy_add(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Policy name.")],
    environment: Annotated[str, typer.Option("--env", "-e", help="The environment.")],
    target: Annotated[str, typer.Option("--target", help="A backup target's name.")],
    stack: Annotated[
        str | None, typer.Option("--stack", help="Every volume this stack mounts.")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Only this service's volumes.")
    ] = None,
    volume: Annotated[
        list[str] | None, typer.Option("--volume", help="Only these volumes (repeat).")
    ] = None,
    node: Annotated[str | None, typer.Option("--node", help="The node of the volumes.")] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="Every 6h, 1d… ('manual': on demand).")
    ] = "1d",
    keep: Annotated[int, typer.Option("--keep", help="Snapshots kept per volume.")] = 7,
    consistency: Annotated[
        str, typer.Option("--consistency", help="none, stop, pause or hook.")
    ] = "none",
    pre: Annotated[
        str | None, typer.Option("--pre", help="Hook run in the container before.")
    ] = None,
    post: Annotated[
        str | None, typer.Option("--post", help="Hook run in the container after.")
    ] = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Add a volume backup policy."""
    interval = None if schedule in (None, "manual") else parse_duration(schedule).total_seconds()
    passphrase = passphrase_from(passphrase_file)
    with conn.client() as client:
        made = client.add_volume_backup_policy(
            name=name, environment=environment, target=target, stack=stack, service=service,
            volumes=volume or None, node=node, interval_s=interval, keep_last=keep,
            consistency=consistency, pre_hook=pre, post_hook=post, passphrase=passphrase,
        )  # fmt: skip
    emit(conn.output, dump(made), f"volume backup policy {made.name} saved")


@policy_app.command("ls")
@connected()
def policy_ls(conn: Connection) -> None:
    """List volume backup policies (API, Compose and label ones)."""
    with conn.client() as client:
        items = client.list_volume_backup_policies()
    if conn.json:
        print_json([dump(p) for p in items])
        return
    rows = [
        [p.name, p.source, p.environment, "/".join(x for x in (p.stack, p.service) if x) or "-",
         ",".join(p.volumes) or "all", p.target, format_duration(p.interval_s) if p.interval_s
         else "manual", str(p.keep_last), p.consistency]
        for p in items
    ]  # fmt: skip
    headers = ["NAME", "SOURCE", "ENV", "STACK", "VOLUMES", "TARGET", "EVERY", "KEEP"]
    print_table(None, [*headers, "CONSISTENCY"], rows)


@policy_app.command("rm")
@connected()
def policy_rm(conn: Connection, name: Annotated[str, typer.Argument(help="Policy name.")]) -> None:
    """Forget a policy (its backups stay, and can be restored)."""
    with conn.client() as client:
        client.remove_volume_backup_policy(name)
    emit(conn.output, {"removed": name}, f"volume backup policy {name} removed")
