// The alerting pages' descriptions for resources.js: alerts (acknowledge), rules (add,
// enable/disable, delete), silences and maintenance windows, and notification channels
// (add, test, enable/disable) with their delivery history. Loaded before resources.js,
// which merges window.fleetdeckAlertPages(ctx) into its pages.
"use strict";
window.fleetdeckAlertPages = function (ctx) {
  const { fd, el, run, form, enc, when, canOperate, isAdmin, extra, environments, table, small } = ctx;
  const list = (text) => (text || "").split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
  const badge = (text, cls) => el("span", { class: "badge" + (cls ? " " + cls : "") }, text);
  const STATE = { firing: "st-dead", pending: "st-created", resolved: "st-running" };
  const labelText = (labels) => Object.entries(labels || {}).filter(([k]) => k !== "environment").map(([k, v]) => `${k}=${v}`).join(" ");
  const secs = (n) => (n == null ? "—" : n >= 3600 && n % 3600 === 0 ? n / 3600 + "h" : n >= 60 && n % 60 === 0 ? n / 60 + "m" : n + "s");
  const condition = (r) => r.condition === "metric" ? `${r.target} ${r.metric} ${r.operator} ${r.threshold}` + (r.instance ? ` (${r.instance})` : "")
    : r.condition === "restart_loop" ? `restart loop: ≥${r.threshold} in ${secs(r.window)}` : r.condition.replace(/_/g, " ");
  const scope = (r) => [...r.environments.map((e) => "env " + e), ...r.tags.map((t) => "tag " + t), ...r.stacks.map((s) => "stack " + s), ...r.labels.map((l) => "label " + l)].join(", ") || "everything";

  async function maintenanceSection() {
    const rows = await fd.api("GET", "/maintenance");
    extra.hidden = false;
    extra.replaceChildren(el("h2", {}, "Maintenance windows"), el("p", { class: "muted small" },
      "While a window is active, alerts of its environment notify nobody; what still fires afterwards is sent then."),
    table(["Environment", "State", "Starts", "Ends", "By", "Reason", ""], rows.map((m) => [m.environment, badge(m.state), when(m.starts_at), when(m.ends_at), m.created_by, m.reason,
      canOperate && m.state !== "expired" ? small("End now", () => run("End maintenance of " + m.environment, () => fd.api("DELETE", "/maintenance/" + enc(m.id))), true) : ""])));
  }

  async function deliveriesSection() {
    const rows = await fd.api("GET", "/deliveries?limit=100");
    extra.hidden = false;
    extra.replaceChildren(el("h2", {}, "Delivery history"), table(["Created", "Channel", "Event", "Status", "Attempts", "Title", "Error"],
      rows.map((d) => [when(d.created_at), d.channel, d.event, badge(d.status, d.status === "sent" ? "st-running" : d.status === "failed" ? "st-dead" : "st-created"),
        String(d.attempts), d.title, d.last_error || ""])));
  }

  async function test(name) {
    try {
      const d = await fd.api("POST", `/channels/${enc(name)}/test`);
      if (d.status === "sent") fd.toast(`Test to ${name}: sent`, "ok"); else fd.toast(`Test to ${name}: ${d.status}`, "error", d.last_error || "");
    } catch (err) { fd.fail(err, "Test " + name); }
    deliveriesSection();
  }

  return {
    alerts: {
      path: () => "/alerts?limit=500",
      columns: [["State", (r) => badge(r.state, STATE[r.state])], ["Severity", (r) => r.severity], ["Rule", (r) => r.rule],
        ["Environment", (r) => r.labels.environment || "—"], ["Labels", (r) => labelText(r.labels)], ["Summary", (r) => r.summary],
        ["Since", (r) => when(r.fired_at || r.started_at)], ["Resolved", (r) => when(r.resolved_at)],
        ["Held back by", (r) => r.suppressed || ""], ["Acknowledged", (r) => r.acked_by || ""]],
      actions: (r) => canOperate && r.state === "firing" && !r.acked_by ? [["Acknowledge", () => run("Acknowledge " + r.rule, () => fd.api("POST", `/alerts/${enc(r.id)}/ack`),
        "It is not sent again while it keeps firing."), false]] : [],
      noEnv: true,
    },
    rules: {
      path: () => "/rules",
      columns: [["Name", (r) => r.name], ["Enabled", (r) => badge(r.enabled ? "on" : "off", r.enabled ? "st-running" : "")], ["Severity", (r) => r.severity],
        ["Condition", condition], ["For", (r) => secs(r.for)], ["Scope", scope], ["Channels", (r) => r.channels.join(", ") || "all"],
        ["Kind", (r) => (r.builtin ? "built-in" : "yours")], ["Description", (r) => r.description]],
      actions: (r) => canOperate ? [[r.enabled ? "Disable" : "Enable", () => run(`${r.enabled ? "Disable" : "Enable"} rule ${r.name}`,
        () => fd.api("POST", `/rules/${enc(r.name)}/${r.enabled ? "disable" : "enable"}`), r.enabled ? "Its alerts resolve." : null), r.enabled]]
        .concat(r.builtin ? [] : [["Delete", () => run("Delete rule " + r.name, () => fd.api("DELETE", "/rules/" + enc(r.name)), "Its alerts resolve."), true]]) : [],
      tools: () => canOperate ? [form("Add a rule", [["name", "name", true],
        ["condition", "condition", false, ["metric", "node_unreachable", "engine_down", "container_exited", "restart_loop", "container_unhealthy", "stack_deploy_failed", "container_crash_looping", "service_crash_looping"]],
        ["metric", "metric (cpu_percent…)"], ["target", "target", false, ["", "host", "container"]], ["operator", "operator", false, [">", ">=", "<", "<=", "==", "!="]],
        ["threshold", "threshold"], ["for", "for (5m)"], ["window", "window (restart loop)"], ["severity", "severity", false, ["warning", "critical", "info"]],
        ["environments", "environments"], ["labels", "labels K=V"], ["channels", "channels"]], async (v, f) => {
        const body = { name: v.name, condition: v.condition, severity: v.severity, environments: list(v.environments), labels: list(v.labels), channels: list(v.channels) };
        if (v.condition === "metric") Object.assign(body, { metric: v.metric || null, target: v.target || null, operator: v.operator });
        if (v.threshold) body.threshold = Number(v.threshold);
        if (v.for) body.for = v.for;
        if (v.window) body.window = v.window;
        if (await run("Add rule " + v.name, () => fd.api("POST", "/rules", body))) f.reset();
      }, "Metric rules compare the latest sample of every host or container in scope; see GET /api/v1/metrics/names.")] : [],
      noEnv: true,
    },
    silences: {
      path: () => "/silences",
      columns: [["Matchers", (r) => r.matchers.join(" ")], ["State", (r) => badge(r.state)], ["Starts", (r) => when(r.starts_at)], ["Ends", (r) => when(r.ends_at)],
        ["By", (r) => r.created_by], ["Comment", (r) => r.comment]],
      actions: (r) => canOperate && r.state !== "expired" ? [["Expire", () => run("Expire silence", () => fd.api("DELETE", "/silences/" + enc(r.id))), true]] : [],
      tools: () => canOperate ? [form("Add a silence", [["matchers", "rule=host-cpu-high node=n1", true], ["duration", "for (2h)", true], ["comment", "why"]],
        async (v, f) => { if (await run("Add silence", () => fd.api("POST", "/silences", { matchers: list(v.matchers), duration: v.duration, comment: v.comment }))) f.reset(); },
        "Matchers: NAME=VALUE, NAME!=VALUE, NAME=~REGEX, NAME!~REGEX over an alert's labels, rule and severity."),
      form("Start maintenance", [["environment", "environment", true, environments], ["duration", "for (2h)", true], ["reason", "why"]],
        async (v, f) => { if (await run("Start maintenance of " + v.environment, () => fd.api("POST", "/maintenance", v))) f.reset(); })] : [],
      after: maintenanceSection,
      noEnv: true,
    },
    channels: {
      path: () => "/channels",
      columns: [["Name", (r) => r.name], ["Kind", (r) => r.kind], ["URL (secrets masked)", (r) => el("span", { class: "mono" }, r.url)],
        ["Enabled", (r) => badge(r.enabled ? "on" : "off", r.enabled ? "st-running" : "")], ["Min severity", (r) => r.min_severity]],
      actions: (r) => (canOperate ? [["Send test", () => test(r.name), false]] : []).concat(isAdmin ? [
        [r.enabled ? "Disable" : "Enable", () => run(`${r.enabled ? "Disable" : "Enable"} channel ${r.name}`, () => fd.api("PATCH", "/channels/" + enc(r.name), { enabled: !r.enabled })), false],
        ["Remove", () => run("Remove channel " + r.name, () => fd.api("DELETE", "/channels/" + enc(r.name)), "Alerts stop going there."), true]] : []),
      tools: () => isAdmin ? [form("Add a channel", [["name", "name", true], ["url", "slack://… ntfy://… mailto://… json://host/path", true], ["min_severity", "min severity", false, ["info", "warning", "critical"]]],
        async (v, f) => { if (await run("Add channel " + v.name, () => fd.api("POST", "/channels", v))) f.reset(); },
        "Any Apprise URL. It is stored encrypted; only a masked form is ever shown.")] : [],
      after: deliveriesSection,
      noEnv: true,
    },
  };
};
