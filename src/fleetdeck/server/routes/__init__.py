"""The server's own routes, one module per resource, all mounted under ``/api/v1``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

API_PREFIX = "/api/v1"


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields are refused (a typo should not pass silently)."""

    model_config = ConfigDict(extra="forbid")
