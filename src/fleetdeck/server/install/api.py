"""``/install/``: the agent's distribution, for hosts that install the agent from the server.

Who may call: anyone who reaches the server, without a login or a join token. What these
routes hand out is not secret — the install script (the same for everyone: this server's URL
and its public CA certificate), the systemd unit, and public software (the wheels of
fleetdeck and its locked dependencies, the agent image) — and a host must fetch them before it
holds any credential. Asking for the join token here would put the single-use secret in URLs
and access logs of every download for nothing; the token is sent only once, in a POST body
over TLS pinned to this CA (``/install/token-check``, which never uses it up), and then when
the agent enrols. Nothing here changes state. Paths are confined: a wheel is served only if
the manifest lists its (validated) name, from ``wheels/`` of the distribution directory.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from fleetdeck import __version__, pki
from fleetdeck.errors import NotFoundError
from fleetdeck.server.context import (  # noqa: TC001 - FastAPI reads route annotations
    Ctx,
    context_of,
)
from fleetdeck.server.install.dist import AgentDist
from fleetdeck.server.routes import INSTALL_PREFIX
from fleetdeck.wire.install import DistManifest, TokenCheck, TokenStatus

router = APIRouter(prefix=INSTALL_PREFIX, tags=["install"])

_SHELL = "text/x-shellscript; charset=utf-8"
#: Where the agent's unit is in a checkout (the wheel carries it as fleetdeck/deploy/…).
_CHECKOUT_UNIT = Path(__file__).resolve().parents[4] / "deploy/systemd/fleetdeck-agent.service"


def dist_of(ctx: Ctx) -> AgentDist:
    """The server's agent distribution directory."""
    return AgentDist(ctx.settings.agent_dist_path)


@cache
def agent_unit() -> str:
    """``deploy/systemd/fleetdeck-agent.service``: the hardened unit the script installs."""
    packaged = resources.files("fleetdeck") / "deploy" / "fleetdeck-agent.service"
    if packaged.is_file():
        return packaged.read_text()
    if _CHECKOUT_UNIT.is_file():
        return _CHECKOUT_UNIT.read_text()
    raise NotFoundError("this installation of fleetdeck carries no agent systemd unit")


@cache
def _script_template() -> str:
    return (resources.files("fleetdeck.server.install") / "agent.sh").read_text()


def render_script(server: str, ca_pem: str) -> str:
    """The install script for this server: its URL, version and CA written in."""
    return (
        _script_template()
        .replace("@@SERVER@@", server.rstrip("/"))
        .replace("@@VERSION@@", __version__)
        .replace("@@CA_PEM@@", ca_pem.strip())
    )


def server_url(request: Request) -> str:
    """The server's URL as agents reach it: ``agent_url``, else the request's own.

    What the install lines and the script carry. Behind a TLS-terminating proxy the request's
    URL is the proxy's, whose certificate is not this server's CA that agents (and the script)
    pin, hence the ``agent_url`` setting.
    """
    return context_of(request).settings.agent_url or str(request.base_url).rstrip("/")


@router.get("/agent.sh", response_class=Response, responses={200: {"content": {_SHELL: {}}}})
async def install_script(request: Request, ctx: Ctx) -> Response:
    """The install script (``curl … | sh -s -- --token TOKEN``)."""
    ca_pem = pki.cert_pem(ctx.ca.cert).decode()
    return Response(render_script(server_url(request), ca_pem), media_type=_SHELL)


@router.get("/manifest.json", response_model=DistManifest)
async def manifest(ctx: Ctx) -> DistManifest:
    """The distribution's version and files with their SHA-256 (404 when there is none)."""
    return dist_of(ctx).require_manifest()


@router.get("/wheels/{name}", response_class=FileResponse)
async def wheel(ctx: Ctx, name: str) -> FileResponse:
    """One wheel the manifest lists (any other name is 404)."""
    return FileResponse(dist_of(ctx).wheel(name), media_type="application/octet-stream")


@router.get("/fleetdeck-agent-image.tar", response_class=FileResponse)
async def image_tarball(ctx: Ctx) -> FileResponse:
    """The agent image for ``docker load``, if the operator put it there."""
    path = dist_of(ctx).image()
    if path is None:
        raise NotFoundError(
            "this server has no agent image tarball",
            hint="on the server: fleetdeck server agent-dist --image TARBALL (docker save)",
        )
    return FileResponse(path, media_type="application/x-tar")


@router.get("/fleetdeck-agent.service", response_class=Response)
async def systemd_unit() -> Response:
    """The agent's hardened systemd unit (the script points ExecStart at its venv)."""
    return Response(agent_unit(), media_type="text/plain; charset=utf-8")


@router.post("/token-check", response_model=TokenStatus)
async def token_check(ctx: Ctx, body: TokenCheck) -> TokenStatus:
    """Whether a join token would be admitted now, without using it (403 with the reason)."""
    environment, seconds = await ctx.fleet.check_join_token(body.join_token)
    return TokenStatus(environment=environment, expires_in_seconds=seconds)
