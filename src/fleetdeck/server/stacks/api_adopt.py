"""``POST /api/v1/stacks/{name}/adopt``: take over a Compose project or Swarm stack found running.

Adopting stores the given files as the stack's definition and touches no container; the
answer is the stack as ``GET /stacks/{name}`` shows it, now managed, plus ``warnings`` about
services that the next deploy would remove or create (see :mod:`.adoption`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from fleetdeck.server.audit import audited
from fleetdeck.server.body_limits import STACK_BODY_LIMIT
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.stacks import listing
from fleetdeck.server.stacks.adoption import adopt_stack
from fleetdeck.server.stacks.api import FileBody, Operator, stacks_of, to_files
from fleetdeck.wire.base import RequestBody
from fleetdeck.wire.stacks import AdoptedStack

#: Included in the stacks router (prefix ``/stacks``).
router = APIRouter(tags=["stacks"])


class AdoptBody(RequestBody):
    """Where the stack runs and the Compose file(s) it was made from."""

    environment: str
    files: list[FileBody]
    env_file: str | None = None


@router.post(
    "/{name}/adopt",
    max_body_size=STACK_BODY_LIMIT,
    response_model=AdoptedStack,
    response_model_exclude_unset=True,
)
async def adopt(
    request: Request, ctx: Ctx, who: Operator, name: str, body: AdoptBody
) -> dict[str, Any]:
    """Manage the running project ``name`` from now on, with ``files`` as its definition."""
    service = stacks_of(request)
    detail = {"environment": body.environment}
    async with audited(request, who.username, "stack.adopt", name, detail):
        files = to_files(body.files)
        warnings = await adopt_stack(service, name, body.environment, files, body.env_file)
    return await listing.stack_detail(service, name) | {"warnings": warnings}
