"""Status texts worked out when shown, in Docker's words (issue #12: "Up 2 seconds" forever)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleetdeck.container_status import human_duration, status_text
from fleetdeck.wire.containers import EngineContainer

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # only compared with times built from it


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (5399, "About an hour"),
        (5400, "2 hours"),
        (47 * 3600, "47 hours"),
        (48 * 3600, "2 days"),
        (13 * 86400, "13 days"),
        (14 * 86400, "2 weeks"),
        (60 * 86400, "2 months"),
        (730 * 86400, "2 years"),
    ],
)
def test_durations_are_worded_as_docker_words_them(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def _container(**fields: Any) -> EngineContainer:
    base: dict[str, Any] = {"id": "a" * 64, "name": "web", "image": "img", "created": NOW}
    return EngineContainer.model_validate(base | fields)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"state": "running", "health": "healthy"}, "Up 30 minutes (healthy)"),
        ({"state": "running", "health": "starting"}, "Up 30 minutes (health: starting)"),
        ({"state": "running"}, "Up 30 minutes"),
        ({"state": "paused"}, "Up 30 minutes (Paused)"),
        ({"state": "exited", "exit_code": 137}, "Exited (137) 5 minutes ago"),
        ({"state": "restarting", "exit_code": 1}, "Restarting (1) 5 minutes ago"),
        ({"state": "created", "started_at": None, "finished_at": None}, "Created"),
        ({"state": "dead"}, "Dead"),
        ({"state": "removing"}, "Removal In Progress"),
        # An older agent sends no exit code: the engine's own text is all there is.
        ({"state": "exited"}, "Exited (0) 2 seconds ago"),
    ],
)
def test_the_text_says_what_is_true_at_the_time_shown(fields: dict[str, Any], text: str) -> None:
    told = "Exited (0) 2 seconds ago" if fields["state"] == "exited" else "Up 2 seconds"
    times = {"started_at": NOW - timedelta(minutes=30), "finished_at": NOW - timedelta(minutes=5)}
    container = _container(**({"status": told} | times | fields))
    assert status_text(container, NOW) == text
