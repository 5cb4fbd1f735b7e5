"""Auto-heal's rules (``heal.decide``) and policies (``heal.policy``), with a stated present."""

from __future__ import annotations

import pytest

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.heal import decide
from fleetdeck.server.heal.decide import Action, Phase, Seen, Track
from fleetdeck.server.heal.policy import HealPolicy, check_layer, combine, label_layer

ON = HealPolicy(enabled=True)
SICK = Seen("running", "unhealthy")
WELL = Seen("running", "healthy")


def _track() -> Track:
    return Track("c1", "prod", "node1", "web")


def test_the_unhealthy_event_itself_restarts_at_once_by_default() -> None:
    track = _track()
    verdict = decide.observe(track, ON, SICK, now=1000.0)
    assert verdict.action is Action.restart
    assert "restart 1 of 5" in verdict.reason


def test_a_grace_period_waits_and_a_recovery_within_it_restarts_nothing() -> None:
    track, policy = _track(), HealPolicy(enabled=True, grace=30)
    verdict = decide.observe(track, policy, SICK, now=1000.0)
    assert verdict.action is Action.wait and verdict.at == 1030.0
    assert track.phase is Phase.waiting and track.next_at == 1030.0
    assert decide.observe(track, policy, WELL, now=1010.0).action is Action.none
    assert decide.observe(track, policy, SICK, now=1020.0).at == 1050.0  # a new spell


def test_restarts_back_off_exponentially_up_to_the_cap() -> None:
    policy = HealPolicy(enabled=True, backoff=10, backoff_max=300, max_restarts=100, window=86400)
    assert [policy.delay(n) for n in range(7)] == [0, 10, 20, 40, 80, 160, 300]
    track, now = _track(), 1000.0
    decide.restarted(track, now)
    verdict = decide.observe(track, policy, SICK, now + 3)
    assert verdict.action is Action.wait and verdict.at == now + 10
    verdict = decide.observe(track, policy, SICK, now + 10)
    assert verdict.action is Action.restart and "backoff 10s" in verdict.reason
    decide.restarted(track, now + 10)
    assert decide.observe(track, policy, SICK, now + 12).at == now + 30


def test_ten_healthy_minutes_forget_the_streak() -> None:
    track, now = _track(), 1000.0
    for _ in range(3):
        decide.restarted(track, now)
    assert track.streak == 3
    decide.observe(track, ON, WELL, now + 1)
    decide.observe(track, ON, WELL, now + 599)
    assert track.streak == 3
    decide.observe(track, ON, WELL, now + 601)
    assert track.streak == 0


def test_the_streak_resets_when_it_turns_unhealthy_after_a_long_healthy_spell() -> None:
    track = _track()
    decide.restarted(track, 1000.0)
    decide.observe(track, ON, WELL, 1001.0)
    verdict = decide.observe(track, ON, SICK, 1001.0 + 700)  # no event in between
    assert track.streak == 0 and verdict.action is Action.restart


def test_k_restarts_within_the_window_make_a_crash_loop_that_stays_until_healthy() -> None:
    policy = HealPolicy(enabled=True, max_restarts=2, backoff=1, window=600)
    track, now = _track(), 1000.0
    decide.restarted(track, now)
    decide.restarted(track, now + 5)
    verdict = decide.observe(track, policy, SICK, now + 20)
    assert verdict.action is Action.crash_loop and "2 restarts" in verdict.reason
    decide.crash_looped(track, verdict.reason, now + 20)
    assert decide.observe(track, policy, SICK, now + 5000).action is Action.none
    assert track.phase is Phase.crash_looping
    verdict = decide.observe(track, policy, WELL, now + 5001)
    assert verdict.action is Action.recovered and track.crash_looping_since is None


def test_restarts_outside_the_window_do_not_count() -> None:
    policy = HealPolicy(enabled=True, max_restarts=2, window=60)
    track = _track()
    decide.restarted(track, 1000.0)
    decide.restarted(track, 1010.0)
    assert decide.observe(track, policy, SICK, 1075.0).action is Action.restart


def test_a_reset_forgets_the_loop_and_healing_resumes() -> None:
    policy = HealPolicy(enabled=True, max_restarts=1)
    track = _track()
    decide.restarted(track, 1000.0)
    decide.crash_looped(track, "looping", 1010.0)
    decide.reset(track)
    assert decide.observe(track, policy, SICK, 1020.0).action is Action.restart


@pytest.mark.parametrize("state", ["exited", "paused", "restarting", "created", "dead"])
def test_a_container_that_is_not_running_is_left_alone(state: str) -> None:
    track = _track()
    assert decide.observe(track, ON, Seen(state, "unhealthy"), 1000.0).action is Action.none


def test_starting_and_no_health_check_are_not_unhealthy() -> None:
    for health in ("starting", None, "healthy"):
        assert decide.observe(_track(), ON, Seen("running", health), 1000.0).action is Action.none


def test_a_hold_waits_without_counting_anything() -> None:
    track = _track()
    held = Seen("running", "unhealthy", held="a deploy of stack shop is in progress")
    verdict = decide.observe(track, ON, held, 1000.0)
    assert verdict.action is Action.hold and track.phase is Phase.held
    assert track.restarts == [] and track.streak == 0


def test_a_disabled_policy_does_nothing() -> None:
    verdict = decide.observe(_track(), HealPolicy(), SICK, 1000.0)
    assert verdict.action is Action.none


def test_labels_make_a_layer_and_the_bare_label_means_the_default_policy() -> None:
    assert label_layer({"fleetdeck.autoheal": "true"}) == {"enabled": True}
    layer = label_layer({"fleetdeck.autoheal": "yes", "fleetdeck.autoheal.backoff": "30s",
                         "fleetdeck.autoheal.max_restarts": "3", "other": "x"})  # fmt: skip
    assert layer == {"enabled": True, "backoff": 30.0, "max_restarts": 3}
    assert label_layer({"app": "web"}) == {}
    assert combine([{}, {"enabled": True}]) == HealPolicy(enabled=True)


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ({"fleetdeck.autoheal": "maybe"}, "enabled must be true or false"),
        ({"fleetdeck.autoheal.backof": "1s"}, "unknown autoheal field 'backof'"),
        ({"fleetdeck.autoheal.max_restarts": "0"}, "between 1 and 100"),
        ({"fleetdeck.autoheal.max_restarts": "many"}, "whole number"),
        ({"fleetdeck.autoheal.window": "soon"}, "bad duration"),
        ({"fleetdeck.autoheal.stop_timeout": "1h"}, "at most 5 minutes"),
    ],
)
def test_bad_labels_are_clear_errors(layer: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        label_layer(layer)


def test_layers_combine_most_specific_last_and_are_checked_whole() -> None:
    policy = combine([{"enabled": True, "backoff": 5}, check_layer({"backoff": "1m"}, "api")])
    assert policy.enabled and policy.backoff == 60.0
    with pytest.raises(InvalidInputError, match="above backoff_max"):
        combine([{"backoff": 600}])
