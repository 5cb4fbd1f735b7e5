// The auto-heal page's description for resources.js: watched containers (phase, restarts in
// the window, why) with "Reset" for an operator, then Swarm services with task churn, the
// policy layers (set / remove for an operator) and the healer's recent history. Loaded
// before resources.js, which merges window.fleetdeckHealPages(ctx) into its pages.
"use strict";
window.fleetdeckHealPages = function (ctx) {
  const { fd, el, run, form, enc, when, canOperate, extra, table, small } = ctx;
  const badge = (text, cls) => el("span", { class: "badge" + (cls ? " " + cls : "") }, text);
  const PHASE = { crash_looping: "st-dead", waiting: "st-created", held: "st-created", watching: "st-running", disabled: "" };
  const secs = (n) => (n == null ? "—" : n >= 3600 && n % 3600 === 0 ? n / 3600 + "h" : n >= 60 && n % 60 === 0 ? n / 60 + "m" : n + "s");
  const FIELDS = ["enabled", "grace", "backoff", "backoff_max", "reset_after", "max_restarts", "window", "stop_timeout"];

  let services = [];
  async function sections(current) {
    const [policies, history] = await Promise.all([fd.api("GET", "/heal/policies"), fd.api("GET", "/heal/history?limit=50")]);
    if (!current()) return;
    const d = policies.default;
    extra.hidden = false;
    extra.replaceChildren(
      el("h2", {}, "Swarm services"),
      el("p", { class: "muted small" }, "Swarm replaces unhealthy tasks itself; fleetdeck counts the replacements of failed tasks and alerts when they pile up."),
      table(["Service", "Replaced in window", "Window", "State", "Last"], services.map((s) => [`${s.environment}/${s.service}`, String(s.replacements_in_window),
        secs(s.window), badge(s.crash_looping ? "crash-looping" : "ok", s.crash_looping ? "st-dead" : "st-running"), when(s.last_replacement_at)])),
      el("h2", {}, "Policies"),
      el("p", { class: "muted small" }, `Default: ${d.enabled ? "on" : "off"}, grace ${secs(d.grace)}, backoff ${secs(d.backoff)} → ${secs(d.backoff_max)}, ` +
        `reset after ${secs(d.reset_after)} healthy, crash loop at ${d.max_restarts} restarts in ${secs(d.window)}. ` +
        "A container labelled fleetdeck.autoheal=true is healed with it."),
      table(["Target", "Source", "Fields", ""], policies.layers.map((p) => [p.target, p.source, Object.entries(p.fields).map(([k, v]) => `${k}=${v}`).join(" "),
        canOperate && p.source === "api" ? small("Remove", () => run("Remove the heal policy of " + p.target, () => fd.api("DELETE", "/heal/policies/" + enc(p.target))), true) : ""])),
      canOperate ? form("Set a policy", [["target", "default, STACK or STACK/SERVICE", true], ["enabled", "enabled", false, ["", "true", "false"]],
        ["grace", "grace (0s)"], ["backoff", "backoff (10s)"], ["backoff_max", "backoff max (5m)"], ["reset_after", "reset after (10m)"],
        ["max_restarts", "max restarts (5)"], ["window", "window (15m)"], ["stop_timeout", "stop timeout (10s)"]], async (v, f) => {
        const body = {};
        FIELDS.forEach((k) => { if (v[k]) body[k] = k === "enabled" ? v[k] === "true" : k === "max_restarts" ? Number(v[k]) : v[k]; });
        await run("Set the heal policy of " + v.target, () => fd.api("PUT", "/heal/policies/" + enc(v.target), body));
        f.reset();
      }, "Fields left empty are inherited from the layer below.") : "",
      el("h2", {}, "History"),
      table(["Time", "Actor", "Action", "Target", "Result", "Reason"], history.items.map((e) => [when(e.time), e.actor, e.action, e.target, e.result,
        (e.detail && e.detail.reason) || ""])));
  }

  return {
    heal: {
      path: () => "/heal",
      rows: (data) => { services = data.services; return data.containers; },
      columns: [["Container", (r) => `${r.environment}/${r.node}/${r.container}`], ["Stack", (r) => r.stack ? `${r.stack}/${r.service || ""}` : "—"],
        ["Health", (r) => r.health || "—"], ["Phase", (r) => badge(r.phase.replace(/_/g, " "), PHASE[r.phase])],
        ["Restarts", (r) => `${r.restarts_in_window}/${r.policy.max_restarts} in ${secs(r.policy.window)}`],
        ["Last restart", (r) => when(r.last_restart_at)], ["Next", (r) => when(r.next_restart_at)], ["Reason", (r) => r.reason],
        ["Policy", (r) => r.policy_sources.join(" → ")]],
      actions: (r) => canOperate && (r.phase === "crash_looping" || r.restarts_in_window) ? [["Reset", () => run(`Reset auto-heal of ${r.container}`,
        () => fd.api("POST", `/heal/reset/${enc(r.environment + "/" + r.node + "/" + r.container)}`), "It forgets the crash loop and counted restarts; healing resumes."), false]] : [],
      after: sections,
      noEnv: true,
    },
  };
};
