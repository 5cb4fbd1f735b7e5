"""``/api/v1/repos`` and a stack's Git source: thin handlers over the GitOps service.

Repositories are an admin's (they hold credentials); reading them a viewer's (never a
secret). Pointing a stack at Git and syncing it are an operator's, like a deploy. The
webhook route has no login: the delivery's signature is its authentication (401 otherwise).
Every change is audited (``repo.create``, ``repo.delete``, ``stack.source.set``,
``stack.sync``; each deploy a sync makes is ``stack.deploy`` with its commit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from fleetdeck.errors import PayloadTooLargeError
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Admin, Operator, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.server.gitops.sources import SourceSpec
from fleetdeck.server.gitops.webhooks import MAX_WEBHOOK_BYTES
from fleetdeck.server.stacks.files import check_stack_name
from fleetdeck.wire.gitops import (
    GitRepo,
    RepoCreate,
    RepoWebhook,
    SourceBody,
    StackSource,
    SyncResult,
    WebhookAccepted,
)
from fleetdeck.wire.stacks import Ok

if TYPE_CHECKING:
    from fleetdeck.server.gitops.service import GitOpsService

router = APIRouter(tags=["gitops"])
SIGNATURES = ["X-Hub-Signature-256", "X-Gitea-Signature", "X-Gitlab-Token", "X-Fleetdeck-Signature"]


def gitops_of(request: Request) -> GitOpsService:
    """The GitOps service."""
    service: GitOpsService | None = context_of(request).gitops
    assert service is not None  # noqa: S101 - set by the lifespan
    return service


def webhook_url(request: Request, name: str) -> str:
    """The public URL of a repository's webhook (``public_url`` when the server has one)."""
    base = context_of(request).settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/api/v1/repos/{name}/webhook"


@router.get("/repos")
async def list_repos(request: Request, who: Viewer) -> list[GitRepo]:
    """Every repository (never a token, key or webhook secret)."""
    return [GitRepo.model_validate(r) for r in await gitops_of(request).repos_json()]


@router.post("/repos", status_code=201)
async def add_repo(body: RepoCreate, request: Request, who: Admin) -> GitRepo:
    """Add a repository; its token or deploy key is sealed before it is stored."""
    detail = {"url": body.url, "username": body.username, "poll_interval_s": body.poll_interval_s}
    service = gitops_of(request)
    async with audited(request, who.username, "repo.create", body.name, detail):
        await service.add_repo(body.name, body.url, body.username, body.token, body.ssh_key,
                               body.poll_interval_s)  # fmt: skip
    return GitRepo.model_validate(await service.repo_view(body.name))


@router.delete("/repos/{name}")
async def delete_repo(name: str, request: Request, who: Admin) -> Ok:
    """Forget a repository, its credentials and its cache (not while a stack uses it)."""
    async with audited(request, who.username, "repo.delete", name):
        await gitops_of(request).delete_repo(name)
    return Ok(ok=True)


@router.get("/repos/{name}/webhook")
async def get_webhook(name: str, request: Request, who: Admin) -> RepoWebhook:
    """The repository's webhook URL and secret, for the forge's settings."""
    secret = await gitops_of(request).webhook_secret(name)
    return RepoWebhook(repo=name, url=webhook_url(request, name), secret=secret,
                       signatures=SIGNATURES)  # fmt: skip


@router.post("/repos/{name}/webhook", status_code=202)
async def deliver_webhook(name: str, request: Request) -> WebhookAccepted:
    """A forge's push: verified by its signature (401 otherwise), then a sync is queued."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise PayloadTooLargeError(f"a webhook body is at most {MAX_WEBHOOK_BYTES} bytes")
    answer = await gitops_of(request).delivery(name, request.headers, body)
    return WebhookAccepted.model_validate(answer)


@router.get("/stacks/{name}/source")
async def get_source(name: str, request: Request, who: Viewer) -> StackSource:
    """A stack's Git source, its last sync and the commits of its revisions."""
    return StackSource.model_validate(await gitops_of(request).source_view(name))


@router.put("/stacks/{name}/source")
async def put_source(name: str, body: SourceBody, request: Request, who: Operator) -> SyncResult:
    """Deploy a stack from Git: store its source, then sync it now (the deploy included)."""
    service = gitops_of(request)
    detail: dict[str, Any] = body.model_dump()
    async with audited(request, who.username, "stack.source.set", check_stack_name(name), detail):
        repo = await service.resolve_repo(body.repo, admin=who.is_admin)
        environment = body.environment or await service.environment_of(name)
        spec = SourceSpec(name, environment, repo, body.ref, body.path,
                          list(body.compose_files), body.env_file, body.submodules)  # fmt: skip
        result = await service.set_source(spec, who.username, admin=who.is_admin)
    return SyncResult.model_validate(result)


@router.post("/stacks/{name}/sync")
async def sync_stack(name: str, request: Request, who: Operator) -> SyncResult:
    """Fetch the stack's ref now and deploy it if it changed (a stopped stack too)."""
    async with audited(request, who.username, "stack.sync", name):
        result = await gitops_of(request).sync_stack(name, who.username, admin=who.is_admin)
    return SyncResult.model_validate(result)
