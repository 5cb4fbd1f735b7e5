"""``fleetdeck server``: run the control plane; ``fleetdeck server ca``: print its CA.

The server's imports (FastAPI, SQLAlchemy, uvicorn) are deferred into the commands, so the
rest of the CLI starts as fast as before.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from fleetdeck.errors import NotFoundError
from fleetdeck.packaging import require_server_extra

app = typer.Typer(
    help="Run the fleetdeck server (API, web UI, reconcilers).",
    invoke_without_command=True,
)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="State directory (env FLEETDECK_DATA_DIR).", show_default=False
    ),
]


@app.callback()
def serve(
    ctx: typer.Context,
    data_dir: DataDirOption = None,
    listen: Annotated[
        str | None, typer.Option("--listen", help="HOST:PORT to serve on (default 0.0.0.0:8443).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML/JSON settings (env FLEETDECK_CONFIG)."),
    ] = None,
    no_tls: Annotated[
        bool, typer.Option("--no-tls", help="Serve plain HTTP (behind a TLS proxy only).")
    ] = False,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="Your own HTTPS certificate (PEM).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="Its private key.")] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="The URL users reach the server at through a reverse proxy "
            "(env FLEETDECK_PUBLIC_URL).",
        ),
    ] = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the effective settings and exit.")
    ] = False,
) -> None:
    """Run the server until interrupted (flags beat FLEETDECK_* env, which beats the file)."""
    if ctx.invoked_subcommand is not None:
        return
    require_server_extra("server")
    from fleetdeck.server.config import ServerSettings

    settings = ServerSettings.load(
        config,
        data_dir=data_dir,
        listen=listen,
        tls=False if no_tls else None,
        tls_cert=tls_cert,
        tls_key=tls_key,
        public_url=public_url,
    )
    if print_config:
        typer.echo(json.dumps(settings.effective(), indent=2))
        return
    # Read once above; nothing the server starts (or a stack) should find them in os.environ.
    for name in ("FLEETDECK_ADMIN_PASSWORD", "FLEETDECK_MASTER_KEY", "FLEETDECK_BACKUP_PASSPHRASE"):
        os.environ.pop(name, None)
    _run(settings)


async def _migrate(url: str) -> None:
    from fleetdeck.server.store import Store
    from fleetdeck.server.store.migrate import migrate

    store = Store(url)
    try:
        await migrate(store)
    finally:
        await store.close()


def _run(settings: object) -> None:
    """Prepare what must exist before uvicorn starts, then serve."""
    import uvicorn

    from fleetdeck.server.app import create_app
    from fleetdeck.server.body_limits import DEFAULT_BODY_LIMIT
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.secrets import load_master_key
    from fleetdeck.server.tls import prepare_tls

    assert isinstance(settings, ServerSettings)  # noqa: S101 - typed loosely to defer imports
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Fail here, with a one-line error and the kind's exit code, rather than as a traceback
    # from inside uvicorn's lifespan.
    _, tls = prepare_tls(settings)
    load_master_key(settings)
    asyncio.run(_migrate(settings.db_url))
    ssl: dict[str, str] = {}
    if settings.tls:
        ssl = {"ssl_certfile": str(tls.https_cert_path), "ssl_keyfile": str(tls.https_key_path)}
    if settings.public_url:
        typer.echo(f"fleetdeck server: users reach it at {settings.public_url}", err=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        lifespan="on",
        # X-Forwarded-* are the app's to believe, from the proxies named in the settings only
        # (fleetdeck.server.forwarded); uvicorn's own would believe 127.0.0.1 by default.
        proxy_headers=False,
        server_header=False,
        # WebSocket messages (the console) stay under the same cap as request bodies.
        ws_max_size=DEFAULT_BODY_LIMIT,
        **ssl,  # type: ignore[arg-type]
    )


@app.command("ca")
def print_ca(
    data_dir: DataDirOption = None,
    config: Annotated[Path | None, typer.Option("--config", help="Settings file.")] = None,
) -> None:
    """Print the server's CA certificate (PEM), e.g. for ``--ca-cert`` of other hosts."""
    require_server_extra("server ca")
    from fleetdeck.server.config import ServerSettings

    settings = ServerSettings.load(config, data_dir=data_dir)
    path = settings.data_dir / "ca" / "ca.pem"
    if not path.is_file():
        raise NotFoundError(
            f"no CA in {settings.data_dir}",
            hint="the server creates it on its first start; check --data-dir",
        )
    typer.echo(path.read_text(), nl=False)


@app.command("agent-dist")
def agent_dist(
    data_dir: DataDirOption = None,
    config: Annotated[Path | None, typer.Option("--config", help="Settings file.")] = None,
    from_: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A wheelhouse (scripts/wheelhouse DIR agent) to serve at /install/.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    image: Annotated[
        Path | None,
        typer.Option(
            "--image",
            help="An agent image tarball (docker save fleetdeck/agent:VERSION) to serve too.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Put the agent's wheelhouse where the server serves it for installs, or show what is there.

    Hosts then install the agent from this server alone (``fleetdeck env add`` prints the
    line). Without --from, prints the manifest being served.
    """
    require_server_extra("server agent-dist")
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.install.dist import AgentDist

    settings = ServerSettings.load(config, data_dir=data_dir)
    dist = AgentDist(settings.agent_dist_path)
    if from_ is not None:
        manifest = dist.fill(from_, image)
    elif image is not None:
        raise typer.BadParameter("--image needs --from (the wheelhouse)", param_hint="--image")
    else:
        manifest = dist.require_manifest()
    typer.echo(
        f"{dist.directory}: fleetdeck {manifest.version}, {len(manifest.files)} wheels"
        + (", agent image tarball" if manifest.image else "")
    )


@app.command("restore")
def restore(
    backup: Annotated[
        str,
        typer.Argument(
            help="REPO (newest backup), REPO#ID, or an ID from `backup ls` with --repo REPO;"
            " REPO: /DIR, sftp://USER@HOST[:PORT]/PATH or s3:https://HOST/BUCKET (keys from"
            " AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)."
        ),
    ],
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="The NEW data directory (absent or empty).")
    ],
    repo: Annotated[
        str | None, typer.Option("--repo", help="The repository, when BACKUP is an id.")
    ] = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(
            "--passphrase-file", help="Backup passphrase (else FLEETDECK_BACKUP_PASSPHRASE)."
        ),
    ] = None,
    ssh_key: Annotated[
        Path | None, typer.Option("--ssh-key", help="SFTP: private key file.")
    ] = None,
    known_hosts: Annotated[
        Path | None, typer.Option("--known-hosts", help="SFTP: the server's host key line(s).")
    ] = None,
    without_history: Annotated[
        bool, typer.Option("--without-history", help="Leave metrics and logs history out.")
    ] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json.")] = "table",
) -> None:
    """Restore a server backup into a new data directory (all or nothing), to start a server on."""
    require_server_extra("server restore")
    from fleetdeck.cli.backup_passphrase import passphrase_from
    from fleetdeck.cli.backups import read_text_file
    from fleetdeck.server.backups.restore import parse_backup_ref
    from fleetdeck.server.backups.restore import restore as restore_backup
    from fleetdeck.server.backups.targets import Credentials

    passphrase = passphrase_from(passphrase_file, required=True)
    assert passphrase is not None  # noqa: S101 - required=True raises otherwise
    creds = Credentials(
        known_hosts=read_text_file(known_hosts, "known_hosts file"),
        ssh_key=read_text_file(ssh_key, "SSH key"),
        # S3: restic's own variables, as the operator has them for the bucket.
        access_key_id=os.environ.get("AWS_ACCESS_KEY_ID"),
        secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
    )
    facts = restore_backup(
        parse_backup_ref(backup, repo), data_dir, passphrase, creds, history=not without_history
    )
    if output == "json":
        typer.echo(json.dumps(facts, indent=2))
        return
    typer.echo(
        f"restored backup {facts['snapshot']} (fleetdeck {facts['fleetdeck_version']},"
        f" made {facts['created_at']}) into {facts['data_dir']}: {facts['files']} files"
        f"{'' if facts['history'] else ', without history'}"
    )
    if facts["master_key"] == "environment":
        typer.echo(
            "the master key came from FLEETDECK_MASTER_KEY: give the new server the same one"
        )
    typer.echo(f"start it with: fleetdeck server --data-dir {facts['data_dir']}")
