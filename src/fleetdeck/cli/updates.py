"""``fleetdeck updates``: pending image updates (``ls``), a round now (``check``), ``policy``.

A service's policy is ``off``, ``notify`` (say an update is there) or ``auto`` (deploy it,
health-gated, undone on failure); targets are ``default``, ``STACK`` or ``STACK/SERVICE``
(see docs/updates.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fleetdeck.cli.common import Connection, connected, dump, emit
from fleetdeck.cli.output import print_json, print_table

if TYPE_CHECKING:
    from fleetdeck.wire.updates import UpdateItem

updates = typer.Typer(help="Image updates: new digests of the tags stacks run.")


def _short(digest: str | None) -> str:
    return digest.removeprefix("sha256:")[:12] if digest else "-"


def _rows(items: list[UpdateItem]) -> list[list[str]]:
    return [
        [f"{i.stack}/{i.service}", i.image, i.policy, i.status,
         _short(i.running_digest), _short(i.available_digest),
         "update available" if i.update_available else "", i.message]
        for i in items
    ]  # fmt: skip


HEADERS = ["SERVICE", "IMAGE", "POLICY", "STATUS", "RUNNING", "REGISTRY", "UPDATE", "MESSAGE"]


@updates.command("ls")
@connected()
def updates_ls(conn: Connection) -> None:
    """Every watched stack service: its digest, its registry's, status and policy."""
    with conn.client() as client:
        listing = client.updates()
    if conn.json:
        print_json(dump(listing))
        return
    print_table(None, HEADERS, _rows(listing.items))


@updates.command("check")
@connected()
def updates_check(conn: Connection) -> None:
    """Ask every registry now (one HEAD per image); deploy what is ``auto``."""
    with conn.client() as client:
        result = client.check_updates()
    if conn.json:
        print_json(dump(result))
        return
    print_table(None, HEADERS, _rows(result.items))
    typer.echo(
        f"{result.references} image reference(s) for {result.services} service(s): "
        f"{result.head_requests} HEAD, {result.token_requests} token request(s); "
        f"updated: {', '.join(result.updated) or 'none'}; "
        f"failed: {', '.join(result.failed) or 'none'}"
    )


@updates.command("policy")
@connected()
def updates_policy(
    conn: Connection,
    target: Annotated[
        str | None, typer.Argument(help="default, STACK or STACK/SERVICE (none: list).")
    ] = None,
    policy: Annotated[str | None, typer.Argument(help="off, notify or auto.")] = None,
    remove: Annotated[
        bool, typer.Option("--rm", help="Remove the target's policy (Compose's applies).")
    ] = False,
) -> None:
    """List policies, set one (``policy TARGET auto``) or remove one (``--rm``)."""
    with conn.client() as client:
        if target is None:
            answer = client.update_policies()
        elif remove:
            answer = client.delete_update_policy(target)
        elif policy is None:
            from fleetdeck.errors import InvalidInputError

            raise InvalidInputError(
                "say the policy (off, notify or auto), or --rm",
                hint=f"fleetdeck updates policy {target} notify",
            )
        else:
            answer = client.set_update_policy(target, policy)
    if target is not None:
        done = "removed" if remove else policy
        emit(conn.output, dump(answer), f"update policy of {target}: {done}")
        return
    if conn.json:
        print_json(dump(answer))
        return
    rows = [["default (effective)", answer.default]]
    rows += [[p.target, p.policy] for p in answer.items]
    print_table(None, ["TARGET", "POLICY"], rows)
