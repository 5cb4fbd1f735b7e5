// The Swarm page's description for resources.js: nodes (availability, labels) and services
// (scale, image update, rollback, remove) with one service's tasks and recent logs below.
// Loaded before resources.js, which calls window.fleetdeckSwarm(ctx) with its helpers.
"use strict";
window.fleetdeckSwarm = function (ctx) {
  const { fd, el, run, form, env, enc, when, canOperate, tools, extra } = ctx;
  const base = () => `/environments/${enc(env())}`;
  const svcPath = (name) => `${base()}/services/${enc(name)}`;
  const TASK_POLL_MS = 3000;
  const BAD = ["failed", "rejected", "orphaned"], DONE = ["shutdown", "complete", "remove"];
  const detail = el("div", { class: "service-detail", "data-service-detail": "" });
  const servicesBox = el("div", { class: "table-wrap" });
  let open = null, timer = null, polling = false;

  const labelBadges = (labels) => { const l = Object.entries(labels || {}); return l.length ? l.map(([k, v]) => el("span", { class: "badge" }, `${k}=${v}`)) : "—"; };
  const stateBadge = (state) => el("span", { class: "state" + (state === "running" ? " st-running" : BAD.includes(state) ? " st-dead" : DONE.includes(state) ? "" : " st-created"), "data-task-state-badge": "" }, state || "—");
  const withoutDigest = (image) => (image || "").split("@")[0];
  // The tag a deploy wrote (image_ref) when the service runs a pinned digest; the digest is
  // in the cell's tooltip.
  const imageOf = (x) => withoutDigest(x.image_ref || x.image);
  const counts = (s) => `${s.running ?? "?"}/${s.desired ?? "?"}`;
  function smallButton(label, onClick, danger, attrs) {
    const b = el("button", Object.assign({ class: "btn small" + (danger ? " danger" : ""), type: "button" }, attrs || {}), label);
    b.addEventListener("click", onClick);
    return b;
  }

  // ---------------------------------------------------------------- nodes
  function labelNode(r) {
    const f = tools.querySelector("form");
    f.elements.node.value = r.hostname;
    f.elements.key.focus();
  }
  const nodeActions = (r) => canOperate ? ["active", "pause", "drain"].filter((a) => a !== r.availability).map((a) => [a === "active" ? "Activate" : a[0].toUpperCase() + a.slice(1),
    () => run(`${a} node ${r.hostname}`, () => fd.api("POST", `${base()}/swarm/nodes/${enc(r.id)}`, { availability: a }),
      a === "drain" ? "Its tasks are moved to other nodes." : null), a === "drain"]).concat([["Label", () => labelNode(r), false]]) : [];
  const labelForm = () => canOperate ? [form("Set a node label", [["node", "hostname or ID", true], ["key", "key", true], ["value", "value"]], async (v, f) => {
    const done = await run(`Label ${v.node} ${v.key}=${v.value}`, () => fd.api("POST", `${base()}/swarm/nodes/${enc(v.node)}`, { labels: { [v.key]: v.value } }));
    if (done) f.reset();
  })] : [];

  // ---------------------------------------------------------------- services table
  function serviceActions(s) {
    const acts = el("td", { class: "actions" });
    acts.append(smallButton(open === s.name ? "Hide" : "Details", () => (open === s.name ? close() : show(s)), false, { "aria-label": `Tasks and logs of ${s.name}`, "aria-expanded": String(open === s.name) }), " ");
    if (!canOperate) return acts;
    if (s.mode === "replicated") {
      const n = el("input", { type: "number", min: "0", value: String(s.replicas ?? 0), "aria-label": "replicas of " + s.name, style: "width:5rem" });
      acts.append(n, " ", smallButton("Scale", () => run(`Scale ${s.name} to ${n.value}`, () => fd.api("POST", `${svcPath(s.name)}/scale`, { replicas: Number(n.value) }))), " ");
    }
    acts.append(smallButton("Rollback", () => run("Roll back " + s.name, () => fd.api("POST", `${svcPath(s.name)}/rollback`), "The previous spec is restored.")), " ",
      smallButton("Remove", () => run("Remove service " + s.name, () => fd.api("DELETE", svcPath(s.name)), "Its tasks are stopped and removed."), true));
    return acts;
  }

  async function services() {
    if (!env()) return;
    const rows = await fd.api("GET", `${base()}/services`);
    const table = el("table", { class: "table services" }, el("thead", {}, el("tr", {}, ["Service", "Image", "Mode", "Running/desired", "Update", ""].map((h) => el("th", {}, h)))));
    const body = el("tbody");
    rows.forEach((s) => {
      body.append(el("tr", Object.assign({ "data-service": s.name }, open === s.name ? { "aria-current": "true" } : {}),
        el("td", { class: "strong" }, s.name), el("td", { class: "mono", title: s.image || "" }, imageOf(s)), el("td", {}, s.mode),
        el("td", { "data-service-running": "" }, counts(s)), el("td", { "data-service-update": "" }, s.update_state || "—"), serviceActions(s)));
    });
    if (!rows.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "empty" }, "No services.")));
    table.append(body);
    const current = rows.find((s) => s.name === open);
    if (open && !current) reset();
    extra.hidden = false;
    // The detail stays in place (moving it would drop the focus of a field being typed in).
    if (!extra.contains(detail)) extra.replaceChildren(el("h2", {}, "Services"), servicesBox, detail);
    servicesBox.replaceChildren(table);
    if (current) detail.querySelector("[data-service-image-now]").textContent = imageOf(current);
  }

  // While a service is open its tasks are polled; the table's counts follow without a rebuild
  // (which would lose a replica count being typed).
  async function refreshCounts() {
    for (const s of await fd.api("GET", `${base()}/services`)) {
      const tr = extra.querySelector(`tr[data-service="${CSS.escape(s.name)}"]`);
      if (!tr) continue;
      tr.querySelector("[data-service-running]").textContent = counts(s);
      tr.querySelector("[data-service-update]").textContent = s.update_state || "—";
      tr.querySelector("td.mono").textContent = imageOf(s);
    }
  }

  // ---------------------------------------------------------------- one service: tasks, logs, image
  function imageForm(s) {
    const input = el("input", { name: "image", value: imageOf(s), required: "", "aria-label": "New image of " + s.name, class: "grow mono" });
    const f = el("form", { class: "row wrap", "data-service-image-form": "" }, el("label", { class: "grow" }, "new image", input),
      el("button", { class: "btn primary", type: "submit" }, "Update image"));
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      await run(`Update ${s.name} to ${input.value}`, () => fd.api("POST", `${svcPath(s.name)}/image`, { image: input.value.trim() }),
        "Its tasks are replaced one by one with the new image (rolling update; Rollback undoes it).");
      refreshTasks();
    });
    return f;
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function show(s) {
    stop();
    open = s.name;
    detail.replaceChildren(
      el("div", { class: "row wrap" }, el("h2", { class: "grow" }, "Service " + s.name),
        el("span", { class: "muted small" }, "image ", el("code", { "data-service-image-now": "", title: s.image || "" }, imageOf(s))),
        smallButton("Close", close)),
      canOperate ? imageForm(s) : "",
      el("h3", {}, "Tasks ", el("span", { class: "muted small", "data-tasks-status": "" }, "loading…")),
      el("div", { class: "table-wrap", "data-service-tasks": "" }),
      el("div", { class: "row wrap" }, el("h3", { class: "grow" }, "Recent logs ", el("span", { class: "muted small", "data-service-logs-status": "" }, "loading…")),
        smallButton("Refresh logs", loadLogs)),
      el("pre", { class: "logs", "data-service-logs": "", tabindex: "0", "aria-label": "Logs of " + s.name }));
    services().catch((err) => fd.fail(err, "services"));
    refreshTasks();
    loadLogs();
    timer = setInterval(() => {
      if (document.hidden) return;
      refreshTasks();
      refreshCounts().catch(() => { /* the next tick retries */ });
    }, TASK_POLL_MS);
    detail.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  function reset() {
    stop();
    open = null;
    detail.replaceChildren();
  }
  function close() {
    reset();
    services().catch((err) => fd.fail(err, "services"));
  }

  function taskOrder(a, b) {
    const live = (t) => (t.desired_state === "running" ? 0 : 1);
    return live(a) - live(b) || (a.slot ?? 0) - (b.slot ?? 0) || String(b.updated_at).localeCompare(String(a.updated_at));
  }

  async function refreshTasks() {
    const name = open;
    if (!name || polling) return;
    polling = true;
    try {
      const tasks = (await fd.api("GET", `${svcPath(name)}/tasks`)).sort(taskOrder);
      if (open !== name) return;
      const head = el("tr", {}, ["Task", "Node", "State", "Desired", "Image", "Message", "Updated"].map((h) => el("th", {}, h)));
      const body = el("tbody");
      tasks.forEach((t) => body.append(el("tr", { "data-task-state": t.state, "data-task-node": t.node },
        el("td", { class: "mono" }, `${name}.${t.slot ?? t.node_id.slice(0, 12)}`), el("td", {}, t.node), el("td", {}, stateBadge(t.state)),
        el("td", {}, t.desired_state), el("td", { class: "mono ellipsis", title: t.image || "" }, imageOf(t)),
        el("td", { class: t.error ? "error" : "muted" }, t.error || t.message || ""), el("td", {}, when(t.updated_at)))));
      if (!tasks.length) body.append(el("tr", {}, el("td", { colspan: "7", class: "empty" }, "No tasks.")));
      detail.querySelector("[data-service-tasks]").replaceChildren(el("table", { class: "table tasks" }, el("thead", {}, head), body));
      const running = tasks.filter((t) => t.state === "running").length;
      detail.querySelector("[data-tasks-status]").textContent = `${running} running of ${tasks.filter((t) => t.desired_state === "running").length} wanted — refreshed every ${TASK_POLL_MS / 1000} s`;
    } catch (err) {
      const status = detail.querySelector("[data-tasks-status]");
      if (status) status.textContent = "error: " + err.message;
    } finally { polling = false; }
  }

  async function loadLogs() {
    const name = open, out = detail.querySelector("[data-service-logs]"), status = detail.querySelector("[data-service-logs-status]");
    if (!name) return;
    status.textContent = "loading…";
    try {
      const resp = await fd.api("GET", `${svcPath(name)}/logs?tail=100`, undefined, { raw: true });
      const lines = (await resp.text()).split("\n").filter((p) => p.trim()).map((p) => JSON.parse(p));
      if (open !== name) return;
      const failed = lines.find((l) => l.error);
      const frag = document.createDocumentFragment();
      lines.filter((l) => !l.error).forEach((l) => {
        const span = el("span", l.stream === "stderr" ? { class: "err" } : {});
        if (l.time) span.append(el("span", { class: "ts" }, l.time.replace("T", " ").slice(0, 23) + "  "));
        span.append(l.line + "\n");
        frag.append(span);
      });
      out.replaceChildren(frag.childNodes.length ? frag : el("span", { class: "ts" }, "No output in the last 100 lines of any task.\n"));
      out.scrollTop = out.scrollHeight;
      status.textContent = failed ? "error: " + (failed.message || failed.error) : `last ${lines.length} line(s)`;
    } catch (err) {
      status.textContent = "error: " + err.message;
    }
  }

  return {
    path: () => (env() ? `${base()}/swarm/nodes` : null),
    empty: "No environment of this server is a Swarm (no manager node).",
    columns: [["Hostname", (r) => r.hostname], ["Role", (r) => r.role + (r.leader ? " (leader)" : "")],
      ["Availability", (r) => r.availability], ["State", (r) => r.state], ["Address", (r) => r.addr],
      ["Engine", (r) => r.engine_version], ["Labels", (r) => labelBadges(r.labels)]],
    actions: nodeActions,
    tools: labelForm,
    after: services,
    onEnvChange: reset,
  };
};
