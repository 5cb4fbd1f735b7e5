"""``fleetdeck alerts`` (list, show, ack) and ``fleetdeck rules`` (ls, show, add, edit, rm…)."""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from fleetdeck.cli.common import (
    Connection,
    connected,
    dump,
    emit,
)
from fleetdeck.cli.output import print_json, print_table
from fleetdeck.durations import format_duration

if TYPE_CHECKING:
    from collections.abc import Callable

    from fleetdeck.wire.alerts import Alert, Rule

R = TypeVar("R")

alerts = typer.Typer(help="Alerts (bare `alerts` lists the active ones).")
rules = typer.Typer(help="Alert rules: built-in and your own (bare `rules` lists them).")


def _target(alert: Alert) -> str:
    labels = alert.labels
    path = "/".join(str(labels[k]) for k in ("environment", "node", "container") if k in labels)
    return f"{path} {labels['instance']}" if "instance" in labels else path


def _print_alerts(conn: Connection, state: str | None, rule: str | None, env: str | None) -> None:
    with conn.client() as client:
        page = client.list_alerts(state=state, rule=rule, environment=env)
    if conn.json:
        print_json([dump(a) for a in page.items])
        return
    held = any(a.suppressed for a in page.items)
    rows = [
        [a.id[:8], a.state + (" (acked)" if a.acked_by else ""), a.severity, a.rule, _target(a),
         a.summary, *([a.suppressed or ""] if held else [])]
        for a in page.items
    ]  # fmt: skip
    columns = [
        "ID",
        "STATE",
        "SEVERITY",
        "RULE",
        "TARGET",
        "SUMMARY",
        *(["HELD BY"] if held else []),
    ]
    print_table(None, columns, rows)


StateOpt = Annotated[
    str | None, typer.Option("--state", help="pending, firing, resolved or active (default).")
]
AllOpt = Annotated[bool, typer.Option("--all", "-a", help="Resolved ones too.")]
RuleOpt = Annotated[str | None, typer.Option("--rule", help="Only this rule's alerts.")]
EnvFilterOpt = Annotated[str | None, typer.Option("--env", "-e", help="Only this environment.")]


@alerts.callback(invoke_without_command=True)
@connected()
def alerts_main(
    conn: Connection,
    ctx: typer.Context,
    state: StateOpt = None,
    all_: AllOpt = False,
    rule: RuleOpt = None,
    env: EnvFilterOpt = None,
) -> None:
    """List alerts (active ones unless --state or --all)."""
    if ctx.invoked_subcommand is None:
        chosen = state or (None if all_ else "active")
        _print_alerts(conn, chosen, rule, env)


@alerts.command("ls")
@connected()
def alerts_ls(
    conn: Connection,
    state: StateOpt = None,
    all_: AllOpt = False,
    rule: RuleOpt = None,
    env: EnvFilterOpt = None,
) -> None:
    """List alerts (active ones unless --state or --all)."""
    chosen = state or (None if all_ else "active")
    _print_alerts(conn, chosen, rule, env)


@alerts.command("show")
@connected()
def alerts_show(
    conn: Connection,
    alert_id: Annotated[str, typer.Argument(help="Alert id.")],
) -> None:
    """Show one alert."""
    with conn.client() as client:
        alert = client.get_alert(alert_id)
    data = dump(alert)
    if conn.json:
        print_json(data)
    else:
        print_table(None, ["FIELD", "VALUE"], [[k, v] for k, v in data.items()])


@alerts.command("ack")
@connected()
def alerts_ack(
    conn: Connection,
    alert_id: Annotated[str, typer.Argument(help="Alert id.")],
) -> None:
    """Acknowledge an alert: it is not sent again while it keeps firing."""
    with conn.client() as client:
        alert = client.ack_alert(alert_id)
    emit(conn.output, dump(alert), f"alert {alert.id} acknowledged")


# ---------------------------------------------------------------- rules
def _rule_row(r: Rule) -> list[Any]:
    if r.condition == "metric":
        what = f"{r.target} {r.metric} {r.operator} {r.threshold:g}"
    elif r.condition == "restart_loop":
        what = f"restarts ≥{r.threshold:g} in {format_duration(r.window)}"
    else:
        what = r.condition
    scope = " ".join(
        [*(f"env={e}" for e in r.environments), *(f"tag={t}" for t in r.tags),
         *(f"stack={s}" for s in r.stacks), *(f"label:{lb}" for lb in r.labels)]
    )  # fmt: skip
    kind = "built-in" if r.builtin else "yours"
    return [
        r.name,
        "on" if r.enabled else "off",
        r.severity,
        what,
        format_duration(r.for_),
        scope,
        kind,
    ]


def _print_rules(conn: Connection) -> None:
    with conn.client() as client:
        items = client.list_rules()
    if conn.json:
        print_json([r.model_dump(mode="json", by_alias=True) for r in items])
    else:
        columns = ["NAME", "ON", "SEVERITY", "CONDITION", "FOR", "SCOPE", "KIND"]
        print_table(None, columns, [_rule_row(r) for r in items])


@rules.callback(invoke_without_command=True)
@connected()
def rules_main(
    conn: Connection,
    ctx: typer.Context,
) -> None:
    """List rules (same as `rules ls`)."""
    if ctx.invoked_subcommand is None:
        _print_rules(conn)


@rules.command("ls")
@connected()
def rules_ls(
    conn: Connection,
) -> None:
    """List rules."""
    _print_rules(conn)


@rules.command("show")
@connected()
def rules_show(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Rule name.")],
) -> None:
    """Show one rule."""
    with conn.client() as client:
        rule = client.get_rule(name)
    data = rule.model_dump(mode="json", by_alias=True)
    if conn.json:
        print_json(data)
    else:
        print_table(None, ["FIELD", "VALUE"], [[k, v] for k, v in data.items()])


def _spec(**values: Any) -> dict[str, Any]:
    """Only the options given (lists given empty are left out too)."""
    return {k: v for k, v in values.items() if v is not None and v != []}


MetricOpt = Annotated[str | None, typer.Option("--metric", "-m", help="Metric name.")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="host or container.")]
OpOpt = Annotated[str | None, typer.Option("--op", help="> >= < <= == !=")]
ThresholdOpt = Annotated[
    float | None, typer.Option("--threshold", help="Threshold (restarts for restart_loop).")
]
ForOpt = Annotated[str | None, typer.Option("--for", help="How long it must hold (30s, 5m).")]
WindowOpt = Annotated[str | None, typer.Option("--window", help="restart_loop window (10m).")]
SeverityOpt = Annotated[str | None, typer.Option("--severity", help="info, warning, critical.")]
EnvsOpt = Annotated[
    list[str] | None, typer.Option("--env", "-e", help="Scope: environment (repeat).")
]
TagsOpt = Annotated[
    list[str] | None, typer.Option("--tag", help="Scope: environment tag (repeat).")
]
StacksOpt = Annotated[list[str] | None, typer.Option("--stack", help="Scope: stack (repeat).")]
LabelsOpt = Annotated[
    list[str] | None, typer.Option("--label", "-l", help="Scope: K or K=V (repeat).")
]
ChannelsOpt = Annotated[
    list[str] | None, typer.Option("--channel", help="Notify only these (repeat).")
]
RepeatOpt = Annotated[str | None, typer.Option("--repeat", help="Repeat interval (4h).")]
DescOpt = Annotated[str | None, typer.Option("--description", help="What it means.")]
InstanceOpt = Annotated[str | None, typer.Option("--instance", help="Only this mount/interface.")]


#: The options ``rules add`` and ``rules edit`` share: parameter, its option, the rule's key.
_RULE_FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("metric", MetricOpt, "metric"),
    ("op", OpOpt, "operator"),
    ("threshold", ThresholdOpt, "threshold"),
    ("for_", ForOpt, "for"),
    ("window", WindowOpt, "window"),
    ("severity", SeverityOpt, "severity"),
    ("env", EnvsOpt, "environments"),
    ("tag", TagsOpt, "tags"),
    ("stack", StacksOpt, "stacks"),
    ("label", LabelsOpt, "labels"),
    ("channel", ChannelsOpt, "channels"),
    ("repeat", RepeatOpt, "repeat"),
    ("description", DescOpt, "description"),
)


def _rule_fields(command: Callable[..., R]) -> Callable[..., R]:
    """Give a rule command the shared rule options, handed over as ``fields`` (the given ones).

    Declared once, like the connection flags of :func:`~fleetdeck.cli.common.connected`
    (apply this one first): ``fields`` holds the rule's keys of the options given.
    """
    own = [
        param
        for param in inspect.signature(command, eval_str=True).parameters.values()
        if param.name != "fields"
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=None)
        for name, kind, _ in _RULE_FIELDS
    ]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> R:
        fields = _spec(**{key: kwargs.pop(name, None) for name, _, key in _RULE_FIELDS})
        return command(*args, fields=fields, **kwargs)

    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*own, *shared], return_annotation=inspect.Signature.empty
    )
    return run


@rules.command("add")
@connected()
@_rule_fields
def rules_add(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Rule name (lower-case, digits, - _ .).")],
    condition: Annotated[
        str, typer.Option("--condition", "-c", help="metric or a built-in condition.")
    ] = "metric",
    target: TargetOpt = None,
    instance: InstanceOpt = None,
    *,
    fields: dict[str, Any],
) -> None:
    """Add a rule: `rules add busy -m cpu_cores --target container --op ">" --threshold 1.5`."""
    spec = {**_spec(name=name, condition=condition, target=target, instance=instance), **fields}
    with conn.client() as client:
        rule = client.create_rule(spec)
    emit(conn.output, rule.model_dump(mode="json", by_alias=True), f"rule {rule.name} added")


@rules.command("edit")
@connected()
@_rule_fields
def rules_edit(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Rule name.")],
    *,
    fields: dict[str, Any],
) -> None:
    """Change a rule (the options given replace the rule's values)."""
    with conn.client() as client:
        rule = client.update_rule(name, fields)
    emit(conn.output, rule.model_dump(mode="json", by_alias=True), f"rule {rule.name} changed")


def _toggle(name: str, enabled: bool, conn: Connection) -> None:
    with conn.client() as client:
        rule = client.set_rule_enabled(name, enabled)
    state = "enabled" if enabled else "disabled"
    emit(conn.output, rule.model_dump(mode="json", by_alias=True), f"rule {rule.name} {state}")


@rules.command("enable")
@connected()
def rules_enable(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Rule name.")],
) -> None:
    """Turn a rule on."""
    _toggle(name, True, conn)


@rules.command("disable")
@connected()
def rules_disable(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Rule name.")],
) -> None:
    """Turn a rule off (its alerts resolve)."""
    _toggle(name, False, conn)


@rules.command("rm")
@connected()
def rules_rm(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Rule name.")],
) -> None:
    """Delete a rule of yours (built-in ones can only be disabled)."""
    with conn.client() as client:
        client.delete_rule(name)
    emit(conn.output, {"removed": name}, f"rule {name} removed")
