"""Rule pieces without a server: durations, matchers, built-in rules, Apprise URLs and timeouts."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

import pytest

from fleetdeck.durations import format_duration, parse_seconds
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.alerts.channels import AppriseNotifier, DeliveryError, check_url
from fleetdeck.server.alerts.rules import RuleSpec, builtin_rules, validate_rule
from fleetdeck.server.alerts.silences import Matcher, parse_matchers
from fleetdeck.server.alerts.state import Event
from fleetdeck.server.config import ServerSettings

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), (90, 90), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("0", 0)],
)
def test_durations_parse_and_print(text: str | int, seconds: float) -> None:
    assert parse_seconds(text, "for") == seconds
    assert parse_seconds(format_duration(seconds), "for") == seconds


@pytest.mark.parametrize("text", ["5 parsecs", "m5", "-3s", "", "31d", "1h 5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError, match="for"):
        parse_seconds(text, "for")


def test_matchers_equal_not_equal_and_regex() -> None:
    labels = {"rule": "host-cpu-high", "node": "n12", "environment": "prod"}
    assert Matcher.parse("rule=host-cpu-high").matches(labels)
    assert Matcher.parse("node!=n1").matches(labels)
    assert Matcher.parse("node=~n1[0-9]").matches(labels)
    assert not Matcher.parse("node=~n1").matches(labels)  # the whole value must match
    assert Matcher.parse("environment!~stag.*").matches(labels)
    assert Matcher.parse("container=").matches(labels)  # a missing label is ""
    assert parse_matchers(["rule=x", "node!~n[0-9]"]) == ["rule=x", "node!~n[0-9]"]
    for bad in (["nolabel"], ["a=~("], []):
        with pytest.raises(InvalidInputError):
            parse_matchers(bad)


def test_builtin_rules_are_valid_and_follow_the_settings(tmp_path: Path) -> None:
    settings = ServerSettings.load(
        data_dir=tmp_path / "d", listen="127.0.0.1:1", alerts_cpu_percent=75
    )
    rules = {s.name: validate_rule(s, set(), set()) for s in builtin_rules(settings)}
    assert rules["host-cpu-high"]["threshold"] == 75
    assert rules["restart-loop"]["threshold"] == 3 and rules["restart-loop"]["window_s"] == 600
    assert rules["node-unreachable"]["for_s"] == 30


def test_a_rule_spec_takes_for_as_text_or_seconds() -> None:
    spec = RuleSpec.model_validate({"name": "r", "condition": "engine_down", "for": "2m"})
    assert validate_rule(spec, set(), set())["for_s"] == 120


def test_apprise_urls_are_checked_and_masked() -> None:
    kind, masked = check_url("json://user:s3cr3t@hooks.example:8080/path")
    # Only scheme and host show (user, password, port and path never do).
    assert kind == "json" and masked == "json://hooks.example/***"
    for bad in ("hooks.example/path", "nosuch://x", "mailto://"):
        with pytest.raises(InvalidInputError):
            check_url(bad)


async def test_a_target_that_never_answers_times_out_without_blocking_the_loop() -> None:
    with socket.socket() as black_hole:  # accepts connections (backlog), never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(8)
        port = black_hole.getsockname()[1]
        notifier = AppriseNotifier()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            with pytest.raises(DeliveryError, match="no answer within 1s"):
                await notifier.send(f"json://127.0.0.1:{port}/x", "t", "b", Event.firing, "info", 1)
        finally:
            task.cancel()
            notifier.close()
        assert ticks >= 5  # the event loop kept running while the send hung
