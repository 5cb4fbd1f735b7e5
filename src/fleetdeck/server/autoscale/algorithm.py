"""The autoscaler's arithmetic, as Kubernetes' Horizontal Pod Autoscaler does it. Pure.

Each sync, per metric: ``desired = ceil(ready × value / target)``, where ``value`` is the
mean over the ready replicas (CPU % of the limit, memory % of the limit, or an external
value per replica); a ratio within the tolerance (0.1) of 1 recommends no change, so noise
does not flap a service. The largest recommendation of all metrics wins. Then behaviour:

- **scale-down stabilisation**: the highest recommendation of the last window (300 s by
  default) is used, so a service is scaled down only after the load stayed low that long;
- **scale-up limits**: at most ``max(pods, percent × current)`` more replicas per period
  (HPA's defaults: 4 pods or 100 % per 15 s);
- **bounds**: min and max replicas.

Missing metrics never scale down: a metric without a value for some ready replica cannot
lower the recommendation (HPA assumes 0 % for scale-up and 100 % for scale-down; fleetdeck
is stricter: with a metric missing entirely, or a node partitioned, nothing changes).
Readiness: replicas that are not healthy yet add no load (``ceil(sum / target)`` over the
ready ones), and no scale-down is decided while some are still starting.

Everything here takes the time as an argument (no clock, no sleep), so the tests feed
timestamps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: A ratio this close to 1 changes nothing (HPA's ``--horizontal-pod-autoscaler-tolerance``).
TOLERANCE = 0.1
#: Seconds a scale-down waits for the load to stay low (HPA's default window).
SCALE_DOWN_WINDOW_S = 300
#: HPA's default scale-up policies: 4 pods or 100 % per 15 s, whichever allows more.
SCALE_UP_PODS = 4
SCALE_UP_PERCENT = 100
SCALE_UP_PERIOD_S = 15
#: Seconds between syncs (HPA's ``--horizontal-pod-autoscaler-sync-period``).
SYNC_S = 15.0


@dataclass(frozen=True)
class Behaviour:
    """How fast a service may be scaled (HPA's ``behavior``)."""

    scale_down_window_s: float = SCALE_DOWN_WINDOW_S
    scale_up_pods: int = SCALE_UP_PODS
    scale_up_percent: int = SCALE_UP_PERCENT
    scale_up_period_s: float = SCALE_UP_PERIOD_S
    tolerance: float = TOLERANCE


@dataclass(frozen=True)
class MetricReading:
    """One metric of one sync.

    Attributes:
        name: ``cpu``, ``memory`` or ``prometheus``.
        target: The target value (per replica: % of the limit, or the external value).
        values: The value of each ready replica that has one (for ``prometheus``: one
            value, the query's result, taken as the per-replica mean).
        missing: Ready replicas without a value.
    """

    name: str
    target: float
    values: tuple[float, ...]
    missing: int = 0


@dataclass(frozen=True)
class Recommendation:
    """What one metric recommends."""

    name: str
    value: float | None
    target: float
    desired: int | None
    note: str

    def to_json(self) -> dict[str, object]:
        """As a decision records it."""
        return {
            "value": None if self.value is None else round(self.value, 2),
            "target": self.target,
            "recommendation": self.desired,
            "note": self.note,
        }


@dataclass
class History:
    """What earlier syncs of one policy recommended and did (kept in memory by the reconciler)."""

    #: (time, recommendation before bounds and limits).
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    #: (time, replicas added) of each scale-up.
    scale_ups: list[tuple[float, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    """The outcome of one sync."""

    current: int
    desired: int
    reason: str
    metrics: dict[str, Recommendation]

    @property
    def changes(self) -> bool:
        """Whether the replica count should change."""
        return self.desired != self.current


def recommend(reading: MetricReading, ready: int, behaviour: Behaviour) -> Recommendation:
    """One metric's recommendation for ``ready`` healthy replicas."""
    if not reading.values:
        return Recommendation(reading.name, None, reading.target, None, "no value")
    mean = sum(reading.values) / len(reading.values)
    ratio = mean / reading.target
    if abs(ratio - 1.0) <= behaviour.tolerance:
        return Recommendation(reading.name, mean, reading.target, ready, "within tolerance")
    desired = math.ceil(ready * ratio)
    if reading.missing and desired < ready:
        # Some replicas have no value: they might be the busy ones. Never down on that.
        return Recommendation(reading.name, mean, reading.target, ready, "values missing")
    return Recommendation(reading.name, mean, reading.target, desired, "")


def decide(
    now: float,
    current: int,
    ready: int,
    readings: list[MetricReading],
    *,
    minimum: int,
    maximum: int,
    behaviour: Behaviour,
    history: History,
) -> Decision:
    """The replica count for this sync, recording the recommendation in ``history``.

    ``current`` is the replica count the service has (desired by its spec); ``ready`` how
    many of them are healthy now. Readings with no value at all stop any change.
    """
    recs = {r.name: recommend(r, max(ready, 1), behaviour) for r in readings}
    empty = [name for name, rec in recs.items() if rec.desired is None]
    if current == 0:
        return Decision(current, current, "scaled to zero by hand: left alone", recs)
    if empty:
        return Decision(current, current, f"no value for {', '.join(sorted(empty))}: "
                        "no change (missing metrics never scale)", recs)  # fmt: skip
    raw = max(rec.desired for rec in recs.values() if rec.desired is not None)
    if ready < current and raw < current:
        # Replicas still starting count as capacity with no load (HPA's readiness rule):
        # ``ceil(sum / target)`` over the ready ones already says what is needed, and no
        # scale-down is decided while some are not ready.
        raw = current
    history.recommendations.append((now, raw))
    window = behaviour.scale_down_window_s
    history.recommendations = [(t, r) for t, r in history.recommendations if now - t <= window]
    stabilised = max(r for _, r in history.recommendations) if raw < current else raw
    desired, reason = stabilised, _why(recs, raw)
    if raw < current and stabilised > raw:
        reason = (f"{reason}; held at {stabilised} by the {window:g}s scale-down "
                  "stabilisation window")  # fmt: skip
    if desired > current:
        period = behaviour.scale_up_period_s
        history.scale_ups = [(t, n) for t, n in history.scale_ups if now - t < period]
        # As HPA: the limit is relative to the count at the start of the period.
        start = max(current - sum(n for _, n in history.scale_ups), 0)
        cap = start + max(behaviour.scale_up_pods,
                          math.ceil(start * behaviour.scale_up_percent / 100))  # fmt: skip
        if desired > max(cap, current):
            desired = max(cap, current)
            reason += f"; limited to {desired} by the scale-up limit per {period:g}s"
    clamped = min(max(desired, minimum), maximum)
    if clamped != desired:
        reason += f"; bounded to {clamped} (min {minimum}, max {maximum})"
    desired = clamped
    if desired > current:
        history.scale_ups.append((now, desired - current))
    if desired == current and "bounded" not in reason and "held" not in reason:
        reason = _steady(recs)
    return Decision(current, desired, reason, recs)


def _why(recs: dict[str, Recommendation], raw: int) -> str:
    """The metric(s) behind the winning recommendation, in words."""
    winners = [r for r in recs.values() if r.desired == raw]
    parts = [f"{r.name} {r.value:.1f} vs target {r.target:g} → {r.desired}"
             for r in winners if r.value is not None]  # fmt: skip
    return "; ".join(parts) or "no metric"


def _steady(recs: dict[str, Recommendation]) -> str:
    parts = [f"{r.name} {r.value:.1f} vs target {r.target:g}"
             for r in recs.values() if r.value is not None]  # fmt: skip
    return "steady: " + ("; ".join(parts) or "no metric")
