"""``GET /audit``: the audit log, for admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from fleetdeck.server.audit import MAX_LIMIT, entry_json
from fleetdeck.server.auth.deps import Admin  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import AuditDep  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.params import Offset  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.wire.admin import AuditPage

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=AuditPage)
async def list_audit(
    audit: AuditDep,
    who: Admin,
    limit: int = Query(default=100, ge=1, le=MAX_LIMIT),
    offset: Offset = 0,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
) -> dict[str, Any]:
    """Entries newest first: ``{items: [AuditEntry], total}``."""
    items, total = await audit.list(
        limit=limit, offset=offset, actor=actor, action=action, target=target
    )
    return {"items": [entry_json(e) for e in items], "total": total}
