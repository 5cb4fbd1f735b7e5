"""Numeric query parameters shared by routes, bounded in the OpenAPI document.

Every integer a client sends has an upper bound, so that no number reaches SQLite (64-bit
integers) or time arithmetic out of range: a too-large value is a 422 naming the parameter,
never an ``OverflowError`` (a unit test walks the OpenAPI document to keep it so).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

#: Largest ``offset`` any paged list accepts (far beyond any real page).
MAX_OFFSET = 1_000_000_000
#: Largest revision number a stack route accepts.
MAX_REVISION = 2**31 - 1

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
Revision = Annotated[int, Path(ge=1, le=MAX_REVISION, description="a revision number")]
