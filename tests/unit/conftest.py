"""Unit-test hooks shared by every unit test.

A socket, transport or client a test forgets to close is reported by Python only when the
garbage collector frees it, which can be many tests later (CI saw an ``unclosed transport``
ResourceWarning fail the set-up of an innocent logs-API test). Collecting after each test
module makes the warning surface in the module that leaked (a full collection costs ~0.1 s, too
much after each of a thousand tests); ``FLEETDECK_TEST_GC=each`` collects after every test, to
find the very test.
"""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True, scope="module")
def _collect_leaks_in_their_own_module() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _collect_leaks_in_their_own_test() -> Iterator[None]:
    yield
    if os.environ.get("FLEETDECK_TEST_GC") == "each":
        gc.collect()
