"""What every wire module shares: the request base and the server's time format."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields are refused (a typo should not pass silently)."""

    model_config = ConfigDict(extra="forbid")


def _isoformat(value: datetime) -> str:
    return value.isoformat()


#: A time the server writes as ``datetime.isoformat()`` (``+00:00``, not pydantic's ``Z``):
#: the metrics and capacity answers have always had that form, and scripts may compare it.
IsoDatetime = Annotated[datetime, PlainSerializer(_isoformat, return_type=str, when_used="json")]
