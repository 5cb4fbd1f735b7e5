"""``/api/v1/stacks``: the stack routes of the contract (see /work docs: STACKS-API).

Deploy and rollback answer an NDJSON stream (plan, progress…, result); anything wrong with
the request is a normal JSON error *before* the stream starts, and nothing has changed then.
Secret variable values are write-only: no route returns them and audit entries omit them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from fleetdeck.errors import ConflictError
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Principal, require
from fleetdeck.server.body_limits import STACK_BODY_LIMIT
from fleetdeck.server.context import context_of
from fleetdeck.server.openapi import NdjsonStream
from fleetdeck.server.params import MAX_REVISION, Revision
from fleetdeck.server.stacks import listing
from fleetdeck.server.stacks.files import check_stack_name, from_wire
from fleetdeck.server.stacks.plan import Strategy
from fleetdeck.server.stacks.service import Proposal, check_variable_key
from fleetdeck.wire.auth import Role
from fleetdeck.wire.base import RequestBody
from fleetdeck.wire.stacks import (
    Ok,
    RevisionSummary,
    ServiceState,
    StackDetail,
    StackDiff,
    StackRevision,
    StackSummary,
    StackVariable,
    ValidateResult,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine

    from fleetdeck.server.stacks.deploy import DeployRun
    from fleetdeck.server.stacks.files import StackFile
    from fleetdeck.server.stacks.plan import DeployOutcome
    from fleetdeck.server.stacks.service import StackService

router = APIRouter(prefix="/stacks", tags=["stacks"])
Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Operator = Annotated[Principal, Depends(require(Role.operator))]


class FileBody(RequestBody):
    """One file of a stack: ``content`` when it is UTF-8 text, else ``content_base64``."""

    name: str = Field(min_length=1, max_length=255)
    content: str | None = None
    content_base64: str | None = None

    def to_file(self) -> StackFile:
        """The file's exact bytes (InvalidInputError naming it when neither or both given)."""
        return from_wire(self.name, self.content, self.content_base64)


def to_files(bodies: list[FileBody]) -> list[StackFile]:
    """The files of a request, in order."""
    return [body.to_file() for body in bodies]


class DefinitionBody(RequestBody):
    """Files (and where) for put/diff/deploy."""

    environment: str | None = None
    files: list[FileBody] | None = None
    env_file: str | None = None
    #: The caller's shell values of the variables the files use: they win over the stored
    #: variables for this request only (``WEB_IMAGE=… fleetdeck stack deploy``).
    variables: dict[str, str] = {}

    def proposal(self) -> Proposal:
        """As the service takes it."""
        files = to_files(self.files) if self.files is not None else None
        return Proposal(self.environment, files, self.env_file, dict(self.variables))


class DeployBody(DefinitionBody):
    """``POST /stacks/{name}/deploy``."""

    strategy: Strategy = Strategy.auto


class ValidateBody(BaseModel):
    """``POST /stacks/validate``.

    Permissive on purpose (not a :class:`RequestBody`): the UI's editor and clients send it
    the same definition body they send to ``PUT``/``diff`` (``environment`` included), and it
    reads only the keys below.
    """

    files: list[FileBody]
    env_file: str | None = None
    variables: dict[str, str] = {}
    #: The stack being edited: its stored variables count (secrets checked as set, not read).
    stack: str | None = None


class RollbackBody(RequestBody):
    """``POST /stacks/{name}/rollback``."""

    revision: int | None = Field(default=None, ge=1, le=MAX_REVISION)


class VariableBody(RequestBody):
    """``PUT /stacks/{name}/variables/{key}``."""

    value: str = Field(max_length=65536)
    secret: bool = False


def stacks_of(request: Request) -> StackService:
    """The stack service."""
    service: StackService = context_of(request).stacks
    return service


@router.get("", response_model=list[StackSummary], response_model_exclude_unset=True)
async def list_stacks(
    request: Request, _: Viewer, environment: str | None = None
) -> list[dict[str, Any]]:
    """Managed stacks and the Compose projects / Swarm stacks found running.

    ``environment`` keeps only the stacks of that environment (an unknown one is a 404).
    """
    service = stacks_of(request)
    if environment is not None:
        service.fleet.require_environment(environment)
    stacks = await listing.list_stacks(service)
    return [s for s in stacks if environment is None or s["environment"] == environment]


@router.post(
    "/validate",
    max_body_size=STACK_BODY_LIMIT,
    response_model=ValidateResult,
    response_model_exclude_unset=True,
)
async def validate(request: Request, _: Viewer, body: ValidateBody) -> dict[str, Any]:
    """Validate files for the editor (changes nothing)."""
    files = to_files(body.files)
    return await stacks_of(request).validate(files, body.env_file, body.variables, body.stack)


@router.get("/{name}", response_model=StackDetail, response_model_exclude_unset=True)
async def get_stack(request: Request, _: Viewer, name: str) -> dict[str, Any]:
    """A stack's definition and state (secret values never included)."""
    return await listing.stack_detail(stacks_of(request), name)


@router.put(
    "/{name}",
    max_body_size=STACK_BODY_LIMIT,
    response_model=StackDetail,
    response_model_exclude_unset=True,
)
async def put_stack(
    request: Request, who: Operator, name: str, body: DefinitionBody
) -> dict[str, Any]:
    """Save a definition (validated first; nothing deployed)."""
    service = stacks_of(request)
    check_stack_name(name)
    async with audited(request, who.username, "stack.save", name):
        # Validates files, variables, images, ports (findings are only shown when saving).
        await service.plan(name, body.proposal(), admin=who.is_admin)
        stored = await service.repo.require(name) if body.files is None else None
        proposal = body.proposal()
        files = proposal.files or (
            await service.repo.files(stored.name, stored.files) if stored else []
        )
        environment = proposal.environment or (stored.environment if stored else "")
        kind = service.kind_of(environment)
        await service.repo.save(name, environment, kind.value, files, proposal.env_file)
    return await listing.stack_detail(service, name)


@router.post("/{name}/diff", max_body_size=STACK_BODY_LIMIT, response_model=StackDiff)
async def diff(
    request: Request, who: Viewer, name: str, body: DefinitionBody | None = None
) -> dict[str, Any]:
    """What a deploy would change (``image_users``: each inspected image's own USER).

    ``variables`` names each variable the files use and the source of its value. Findings
    block as they would for the caller's own deploy (dangerous ones: not for an admin; for
    others unless an admin allowed them).
    """
    plan = await stacks_of(request).plan(
        name, body.proposal() if body else None, admin=who.is_admin
    )
    data = plan.to_json()
    keys = ("changes", "findings", "notes", "image_users", "variables")
    return {key: data[key] for key in keys}


async def _stream(request: Request, name: str, run: DeployRun,
                  record: Callable[[str], Awaitable[None]]) -> StreamingResponse:  # fmt: skip
    """Stream the run; its audit entry and the stack's lock belong to the run, not the reader.

    A client that goes away mid-stream must neither keep the lock held nor lose the audit
    entry, so both happen when the deploy itself ends (``record`` writes the entry).
    """
    lock = stacks_of(request).lock(name)

    async def after(outcome: DeployOutcome) -> None:
        try:
            await record("ok" if outcome.ok else f"error: {outcome.message}")
        finally:
            lock.release()

    run.after = after
    events = run.start()  # the deploy runs from here on, read or not

    async def lines() -> AsyncIterator[bytes]:
        async for item in events:
            yield (json.dumps(item, default=str) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


async def _locked(request: Request, name: str) -> None:
    lock = stacks_of(request).lock(name)
    if lock.locked():
        raise ConflictError(f"a deploy of stack {name!r} is in progress", hint="wait for it to end")
    await lock.acquire()


async def _start(
    request: Request,
    who: Principal,
    action: str,
    name: str,
    prepare: Coroutine[Any, Any, DeployRun],
) -> StreamingResponse:
    """Take the stack's lock, prepare (errors answer before the stream), then stream the run."""
    try:
        await _locked(request, name)
    except BaseException:
        prepare.close()
        raise
    async with audited(request, who.username, action, name) as entry:
        try:
            run = await prepare
        except BaseException:
            stacks_of(request).lock(name).release()
            raise
        entry["revision"] = run.target.revision
        return await _stream(request, name, run, entry.later())


@router.post("/{name}/deploy", max_body_size=STACK_BODY_LIMIT, response_class=NdjsonStream)
async def deploy(
    request: Request, who: Operator, name: str, body: DeployBody | None = None
) -> StreamingResponse:
    """Deploy: NDJSON plan, progress and result; bad input is an error before the stream."""
    body = body or DeployBody()
    prepare = stacks_of(request).prepare(
        name, who.username, body.proposal(), body.strategy, admin=who.is_admin
    )
    return await _start(request, who, "stack.deploy", name, prepare)


@router.post("/{name}/rollback", response_class=NdjsonStream)
async def rollback(
    request: Request, who: Operator, name: str, body: RollbackBody | None = None
) -> StreamingResponse:
    """Deploy an earlier revision exactly (files, variables, image digests)."""
    body = body or RollbackBody()
    prepare = stacks_of(request).prepare_rollback(
        name, who.username, body.revision, admin=who.is_admin
    )
    return await _start(request, who, "stack.rollback", name, prepare)


@router.get("/{name}/ps", response_model=list[ServiceState])
async def ps(request: Request, _: Viewer, name: str) -> list[dict[str, Any]]:
    """The stack's services as they run."""
    return await listing.stack_ps(stacks_of(request), name)


@router.get("/{name}/logs", response_class=NdjsonStream)
async def logs(request: Request, _: Viewer, name: str, tail: str | None = None,
               follow: bool = False, service: str | None = None) -> StreamingResponse:  # fmt: skip
    """Log lines of the stack's containers (NDJSON, with ``service`` and ``container``)."""
    lines = await listing.stack_logs(
        stacks_of(request), name, tail=tail, follow=follow, service_name=service
    )
    return StreamingResponse(lines, media_type="application/x-ndjson")


@router.get("/{name}/history", response_model=list[RevisionSummary])
async def history(request: Request, _: Viewer, name: str) -> list[dict[str, Any]]:
    """Revisions, newest first."""
    return await stacks_of(request).history(name)


@router.get(
    "/{name}/revisions/{revision}", response_model=StackRevision, response_model_exclude_unset=True
)
async def revision(request: Request, _: Viewer, name: str, revision: Revision) -> dict[str, Any]:
    """One revision with its files."""
    return await stacks_of(request).revision(name, revision)


@router.delete("/{name}", response_model=Ok)
async def remove(request: Request, who: Operator, name: str) -> dict[str, Any]:
    """Remove the stack's containers (named volumes kept) and forget it."""
    async with audited(request, who.username, "stack.remove", name):
        await _locked(request, name)
        try:
            await stacks_of(request).remove(name)
        finally:
            stacks_of(request).lock(name).release()
    return {"ok": True}


@router.get("/{name}/variables", response_model=list[StackVariable])
async def list_variables(request: Request, _: Viewer, name: str) -> list[dict[str, Any]]:
    """Variables (secret values are null)."""
    service = stacks_of(request)
    stored = await service.repo.require(name)
    return [v.to_json() for v in await service.repo.variables(stored)]


@router.put("/{name}/variables/{key}", response_model=StackVariable)
async def set_variable(
    request: Request, who: Operator, name: str, key: str, body: VariableBody
) -> dict[str, Any]:
    """Set a variable; a secret is sealed at once and never returned."""
    service = stacks_of(request)
    detail = {"key": key, "secret": body.secret}  # never the value
    async with audited(request, who.username, "stack.variable.set", name, detail):
        check_variable_key(key)
        stored = await service.repo.find(check_stack_name(name))
        if stored is None:  # variables may come before the first deploy
            stored = await service.repo.save(name, "", "host", [], None)
        await service.repo.set_variable(stored, key, body.value, body.secret)
    return {"key": key, "secret": body.secret, "value": None if body.secret else body.value}


@router.delete("/{name}/variables/{key}", response_model=Ok)
async def delete_variable(request: Request, who: Operator, name: str, key: str) -> dict[str, Any]:
    """Remove a variable."""
    service = stacks_of(request)
    async with audited(request, who.username, "stack.variable.remove", name, {"key": key}):
        stored = await service.repo.require(name)
        await service.repo.delete_variable(stored, key)
    return {"ok": True}
