"""The autoscaler's arithmetic (HPA's): fed timestamps, never a clock or a sleep."""

from __future__ import annotations

from fleetdeck.server.autoscale.algorithm import Behaviour, History, MetricReading, decide

DEFAULT = Behaviour()


def cpu(*values: float, target: float = 70.0, missing: int = 0) -> MetricReading:
    return MetricReading("cpu", target, tuple(values), missing)


def sync(now: float, current: int, readings: list[MetricReading], history: History,
         *, ready: int | None = None, lo: int = 2, hi: int = 8,
         behaviour: Behaviour = DEFAULT) -> int:  # fmt: skip
    decision = decide(now, current, current if ready is None else ready, readings,
                      minimum=lo, maximum=hi, behaviour=behaviour, history=history)  # fmt: skip
    return decision.desired


def test_desired_is_ceil_of_current_times_metric_over_target() -> None:
    # 2 replicas at 140 % of a 70 % target: ceil(2 × 2) = 4.
    assert sync(0, 2, [cpu(140, 140)], History()) == 4
    # 3 replicas at 100 % of 70: ceil(3 × 1.43) = 5.
    assert sync(0, 3, [cpu(100, 100, 100)], History()) == 5


def test_within_the_tolerance_nothing_changes() -> None:
    assert sync(0, 4, [cpu(75, 75, 75, 75)], History()) == 4  # ratio 1.07
    assert sync(0, 4, [cpu(65, 65, 65, 65)], History()) == 4  # ratio 0.93
    assert sync(0, 4, [cpu(80, 80, 80, 80)], History()) == 5  # ratio 1.14


def test_the_largest_recommendation_of_the_metrics_wins() -> None:
    memory = MetricReading("memory", 80.0, (200.0, 200.0))  # ceil(2 × 2.5) = 5
    decision = decide(0, 2, 2, [cpu(105, 105), memory], minimum=2, maximum=8,
                      behaviour=DEFAULT, history=History())  # fmt: skip
    assert decision.desired == 5
    assert decision.metrics["cpu"].desired == 3 and decision.metrics["memory"].desired == 5
    assert "memory" in decision.reason


def test_bounds_hold_both_ways() -> None:
    assert sync(0, 4, [cpu(700, 700, 700, 700)], History(), hi=6) == 6
    assert sync(0, 2, [cpu(1, 1)], History(), behaviour=Behaviour(scale_down_window_s=0)) == 2


def test_scale_down_waits_for_the_window_then_follows_the_highest_recommendation() -> None:
    history, window = History(), Behaviour(scale_down_window_s=60)
    assert sync(0, 6, [cpu(70, 70, 70, 70, 70, 70)], history, behaviour=window) == 6
    # Load drops at t=15: the 6 of t=0 is in the window until t=60.
    for t in (15, 30, 45, 60):
        assert sync(t, 6, [cpu(10, 10, 10, 10, 10, 10)], history, behaviour=window) == 6
    assert sync(75, 6, [cpu(10, 10, 10, 10, 10, 10)], history, behaviour=window) == 2


def test_scale_up_is_limited_per_period() -> None:
    history = History()
    slow = Behaviour(scale_up_pods=1, scale_up_percent=50, scale_up_period_s=15)
    # Wanted 2 → 20; allowed max(1, 50 % of 2) = 1 per 15 s.
    assert sync(0, 2, [cpu(700, 700)], history, hi=20, behaviour=slow) == 3
    assert sync(5, 3, [cpu(700, 700, 700)], history, hi=20, behaviour=slow) == 3
    assert sync(15, 3, [cpu(700, 700, 700)], history, hi=20, behaviour=slow) == 5


def test_missing_metrics_never_scale_down() -> None:
    quiet = Behaviour(scale_down_window_s=0)
    # No value at all (an engine down, a node partitioned): no change either way.
    assert sync(0, 5, [cpu()], History(), behaviour=quiet) == 5
    decision = decide(0, 5, 5, [cpu()], minimum=2, maximum=8, behaviour=quiet,
                      history=History())  # fmt: skip
    assert "missing metrics never scale" in decision.reason
    # Some replicas without a value: low values from the others do not scale down…
    assert sync(0, 5, [cpu(5, 5, missing=3)], History(), behaviour=quiet) == 5
    # …but high ones still scale up.
    assert sync(0, 5, [cpu(140, 140, missing=3)], History(), behaviour=quiet) > 5


def test_replicas_not_ready_add_no_load_and_block_a_scale_down() -> None:
    quiet = Behaviour(scale_down_window_s=0)
    # 4 replicas, 2 ready at 140 %: the load is 2 × 2 = 4 replicas' worth; no more.
    assert sync(0, 4, [cpu(140, 140)], History(), ready=2, behaviour=quiet) == 4
    # Ready ones idle while others start: no scale-down until all are ready.
    assert sync(0, 4, [cpu(5, 5)], History(), ready=2, behaviour=quiet) == 4
    assert sync(0, 4, [cpu(5, 5, 5, 5)], History(), behaviour=quiet) == 2


def test_a_service_scaled_to_zero_is_left_alone() -> None:
    assert sync(0, 0, [cpu()], History()) == 0
