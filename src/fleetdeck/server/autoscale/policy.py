"""An autoscaling policy as a person sets it, checked whole before anything is stored.

A policy names its service as the CLI does: ``STACK/SERVICE`` (a managed stack's service,
on a plain host or a Swarm) or ``ENV/SERVICE`` (a Swarm service); the server stores it with
its kind (``stack:…`` or ``swarm:…``). Bad input (min > max, no metric, a target out of
range, a malformed PromQL expression) is refused here with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.autoscale.algorithm import Behaviour

#: The most replicas a policy may ask for (as ``fleetdeck scale``).
MAX_REPLICAS = 100
#: The metrics a policy may target.
METRICS = ("cpu", "memory", "prometheus")
MAX_QUERY = 2000


@dataclass(frozen=True)
class Policy:
    """How one service is scaled."""

    kind: str  # stack | swarm
    scope: str  # the stack's or the environment's name
    service: str
    minimum: int
    maximum: int
    cpu: float | None = None
    memory: float | None = None
    prometheus_query: str | None = None
    prometheus_target: float | None = None
    recommend_only: bool = False
    behaviour: Behaviour = field(default_factory=Behaviour)

    @property
    def target(self) -> str:
        """``stack:STACK/SERVICE`` or ``swarm:ENV/SERVICE`` (the stored key)."""
        return f"{self.kind}:{self.scope}/{self.service}"

    @property
    def ref(self) -> str:
        """``SCOPE/SERVICE`` as people write it."""
        return f"{self.scope}/{self.service}"


def split_target(target: str) -> tuple[str, str, str]:
    """``kind:SCOPE/SERVICE`` → (kind, scope, service)."""
    kind, _, ref = target.partition(":")
    scope, _, service = ref.partition("/")
    return kind, scope, service


def check_promql(query: str) -> str:
    """A PromQL expression that is at least well formed (brackets, quotes); else bad input.

    Prometheus itself parses it when it is evaluated; this catches typos at ``set`` time
    when no Prometheus is configured to ask.
    """
    text = query.strip()
    if not text or len(text) > MAX_QUERY:
        raise InvalidInputError(f"PromQL expression empty or longer than {MAX_QUERY} characters")
    pairs, stack, quote = {")": "(", "]": "[", "}": "{"}, [], ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                raise InvalidInputError(f"malformed PromQL expression {query!r}: unbalanced {ch!r}")
    if quote or stack:
        raise InvalidInputError(
            f"malformed PromQL expression {query!r}: "
            + ("unterminated string" if quote else f"unclosed {stack[-1]!r}")
        )
    if "\n" in text or not any(c.isalnum() for c in text):
        raise InvalidInputError(f"malformed PromQL expression {query!r}")
    return text


def _percent(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not 0 < value <= 1000:
        raise InvalidInputError(f"--{name} {value:g}: a target percentage above 0, at most 1000")
    return float(value)


def check_policy(policy: Policy) -> Policy:
    """The policy if it is whole and sane; else InvalidInputError saying what is wrong."""
    if policy.kind not in ("stack", "swarm"):
        raise InvalidInputError(f"unknown kind of target {policy.kind!r}")
    if not policy.scope or not policy.service:
        raise InvalidInputError("name the service as STACK/SERVICE or ENV/SERVICE")
    if not 1 <= policy.minimum <= MAX_REPLICAS or not 1 <= policy.maximum <= MAX_REPLICAS:
        raise InvalidInputError(f"--min and --max must be between 1 and {MAX_REPLICAS}")
    if policy.minimum > policy.maximum:
        raise InvalidInputError(
            f"--min {policy.minimum} is above --max {policy.maximum}", hint="min ≤ max"
        )
    _percent("cpu", policy.cpu)
    _percent("memory", policy.memory)
    query, value = policy.prometheus_query, policy.prometheus_target
    if (query is None) != (value is None):
        raise InvalidInputError("--prometheus QUERY and --target VALUE go together")
    if query is not None:
        check_promql(query)
        if value is None or not value > 0:
            raise InvalidInputError("--target must be above 0")
    if policy.cpu is None and policy.memory is None and query is None:
        raise InvalidInputError(
            "a policy needs a target", hint="--cpu PERCENT, --memory PERCENT or --prometheus"
        )
    b = policy.behaviour
    if not 0 <= b.scale_down_window_s <= 3600:
        raise InvalidInputError("the scale-down window is 0 to 3600 s")
    if b.scale_up_pods < 1 or b.scale_up_percent < 1 or b.scale_up_period_s <= 0:
        raise InvalidInputError("scale-up limits must be positive")
    if not 0 <= b.tolerance < 1:
        raise InvalidInputError("the tolerance is from 0 to below 1")
    return policy


def check_metric(name: str) -> str:
    """One of :data:`METRICS`, else bad input naming them."""
    if name not in METRICS:
        raise InvalidInputError(f"unknown metric {name!r}", hint=f"metrics: {', '.join(METRICS)}")
    return name
