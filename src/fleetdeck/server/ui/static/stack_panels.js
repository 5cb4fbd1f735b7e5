// A stack page's tabs: services (ps), merged logs (NDJSON follow), history with rollback and
// revision view, variables (secret values write-only). Uses window.fleetdeckStack (stack.js).
"use strict";
(function () {
  const fd = window.fleetdeck;
  const S = window.fleetdeckStack;
  const { el, page, state, canOperate } = S;
  const $ = (s) => page.querySelector(s);
  const enc = encodeURIComponent;
  const when = (iso) => (iso ? el("time", { datetime: iso, title: iso }, iso.replace("T", " ").slice(0, 19)) : "—");
  const managed = () => state.name && state.managed;
  const table = (cls, head, rows) => el("table", { class: "table " + cls }, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), el("tbody", {}, rows));
  function smallButton(label, onClick, attrs, danger) {
    const b = el("button", Object.assign({ type: "button", class: "btn small" + (danger ? " danger" : "") }, attrs || {}), label);
    b.addEventListener("click", onClick);
    return b;
  }

  // ---------------------------------------------------------------- services (ps)
  async function loadPs() {
    const status = $("[data-ps-status]"), box = $("[data-ps]");
    if (!managed()) { status.textContent = "not deployed by fleetdeck yet"; box.replaceChildren(); return; }
    try {
      const rows = await fd.api("GET", S.stackPath() + "/ps");
      status.textContent = `${rows.length} services`;
      const head = ["Service", "Running/desired", "Healthy", "Image", "Containers"].concat(canOperate ? ["Scale"] : []);
      box.replaceChildren(table("ps", head, rows.map((s) => {
        const bad = s.running < s.desired;
        const containers = (s.containers || []).map((c) => {
          const name = c.name || c.id || "?";
          const ref = c.environment && c.node ? `${c.environment}/${c.node}/${name}` : `${state.environment}/${name}`;
          return el("div", {}, el("a", { href: "/containers/" + ref }, name), " ", el("span", { class: "state " + (c.state === "running" ? "st-running" : "st-exited") }, c.state || ""),
            c.health ? el("span", { class: "health " + (c.health === "healthy" ? "h-healthy" : "h-unhealthy") }, c.health) : "");
        });
        return el("tr", { "data-service": s.service }, el("td", { class: "strong" }, s.service),
          el("td", { class: bad ? "error num" : "num" }, `${s.running}/${s.desired}`), el("td", { class: "num" }, String(s.healthy)),
          el("td", { class: "mono", title: s.image }, s.image_ref || s.image), el("td", {}, containers),
          canOperate ? el("td", { class: "actions" }, ...scaleControl(s)) : "");
      })));
      const sel = $("[data-logs-service]"), current = sel.value;
      sel.replaceChildren(el("option", { value: "" }, "all"), ...rows.map((s) => el("option", {}, s.service)));
      sel.value = current;
    } catch (err) { status.textContent = "could not load services: " + err.message; }
    loadDrift();
  }
  $("[data-ps-reload]").addEventListener("click", loadPs);

  // Drift: what runs against the deployed revision, per service; the policy and suspension.
  let driftTimer = null;
  async function loadDrift() {
    const box = $("[data-drift]");
    clearTimeout(driftTimer);
    if (!managed()) { box.replaceChildren(); return; }
    let d;
    try { d = await fd.api("GET", S.stackPath() + "/drift"); }
    catch (err) { box.replaceChildren(el("p", { class: "error" }, "could not load drift: " + err.message)); return; }
    // A deploy or a revert ends without another inventory change: look again until it did.
    if (d.state === "deploying" || (d.state === "drifted" && d.policy === "revert")) {
      driftTimer = setTimeout(() => { if (shown === "services") loadDrift(); }, 2000);
    }
    const rows = d.services.flatMap((s) => s.differences.map((x) => el("tr", { "data-drift-service": s.service },
      el("td", { class: "strong" }, s.service), el("td", {}, x.what), el("td", {}, x.message))));
    const head = el("h3", {}, "Drift: ", el("span", { class: "state " + (d.state === "drifted" ? "st-exited" : "st-running"), "data-drift-state": d.state }, d.state.replace("_", " ")),
      el("span", { class: "muted small" }, ` policy ${d.policy} (${d.policy_source})` + (d.revision != null ? `, live vs revision ${d.revision}` : "")));
    const controls = [];
    if (canOperate) {
      const sel = el("select", { "aria-label": "drift policy", "data-drift-policy": "" }, ["notify", "revert", "default"].map((p) => el("option", { value: p }, p)));
      sel.value = d.policy_source === "api" ? d.policy : "default";
      const put = async (body, what) => {
        try { await fd.api("PUT", S.stackPath() + "/drift", body); fd.toast(what, "ok"); } catch (err) { fd.fail(err, what); }
        loadDrift();
      };
      sel.addEventListener("change", () => put({ policy: sel.value }, "Drift policy " + sel.value));
      controls.push(el("div", { class: "row" }, sel, d.suspended ? smallButton("Resume", () => put({ suspended: false }, "Resumed")) : smallButton("Suspend", () => put({ suspended: true }, "Suspended"))));
    }
    box.replaceChildren(head, ...controls, rows.length ? table("drift", ["Service", "Drift", "Difference"], rows) : el("p", { class: "muted small" }, d.message || "Every service matches the deployed revision."));
  }

  // Scaling by hand: new replicas join the service's name once healthy, removed ones drain;
  // the count is kept over deploys until the file's own count changes.
  function scaleControl(s) {
    const n = el("input", { type: "number", min: "0", max: "100", value: String(s.desired), "aria-label": "replicas of " + s.service, style: "width:5rem" });
    const go = smallButton("Scale", async () => {
      const replicas = Number(n.value);
      if (!Number.isInteger(replicas) || replicas < 0) { fd.toast("replicas: a whole number from 0", "error"); return; }
      if (!(await fd.confirm(`Scale ${s.service} to ${replicas}?`, "New replicas take traffic once healthy; removed ones are drained first.", "Scale"))) return;
      go.disabled = true;
      try {
        const r = await fd.api("POST", `${S.stackPath()}/services/${enc(s.service)}/scale`, { replicas });
        fd.toast(`${s.service}: ${r.previous} → ${r.replicas} replicas`, "ok");
      } catch (err) { fd.fail(err); } finally { go.disabled = false; loadPs(); }
    }, { "aria-label": "Scale " + s.service });
    return [n, " ", go];
  }

  // ---------------------------------------------------------------- logs (followed while shown)
  const logs = { controller: null, paused: false, lines: 0 };
  const out = $("[data-logs]"), logStatus = $("[data-logs-status]"), toggle = $("[data-logs-toggle]");
  const MAX_LINES = 5000;
  function stopLogs() { if (logs.controller) logs.controller.abort(); logs.controller = null; }
  async function followLogs() {
    stopLogs();
    if (!managed()) { logStatus.textContent = "not deployed by fleetdeck yet"; return; }
    const controller = new AbortController();
    logs.controller = controller;
    const q = new URLSearchParams({ tail: $("[data-logs-tail]").value, follow: "1" });
    if ($("[data-logs-service]").value) q.set("service", $("[data-logs-service]").value);
    logStatus.textContent = "connecting…";
    try {
      const resp = await fd.api("GET", `${S.stackPath()}/logs?${q}`, undefined, { raw: true, signal: controller.signal });
      logStatus.textContent = "following";
      await fd.readNdjson(resp, (l) => { if (!logs.paused) append(l); });
      logStatus.textContent = "ended";
    } catch (err) {
      if (err.name !== "AbortError") logStatus.textContent = "stopped: " + err.message;
    }
  }
  function append(l) {
    const span = el("span", { class: l.stream === "stderr" ? "err" : "" },
      el("span", { class: "ts" }, `${(l.time || "").replace("T", " ").slice(0, 19)} ${l.service || ""}${l.container ? " " + l.container : ""} | `), (l.line || "") + "\n");
    const stick = out.scrollTop + out.clientHeight >= out.scrollHeight - 8;
    out.append(span);
    if (++logs.lines > MAX_LINES) { out.firstChild.remove(); logs.lines--; }
    if (stick) out.scrollTop = out.scrollHeight;
  }
  toggle.addEventListener("click", () => {
    logs.paused = !logs.paused;
    toggle.setAttribute("aria-pressed", String(logs.paused));
    toggle.textContent = logs.paused ? "Resume" : "Pause";
  });
  $("[data-logs-clear]").addEventListener("click", () => { out.textContent = ""; logs.lines = 0; });
  ["[data-logs-service]", "[data-logs-tail]"].forEach((s) => $(s).addEventListener("change", () => { out.textContent = ""; logs.lines = 0; followLogs(); }));

  // ---------------------------------------------------------------- history and rollback
  async function showRevision(rev) {
    const box = $("[data-revision]");
    try {
      const r = await fd.api("GET", `${S.stackPath()}/revisions/${rev}`);
      const digests = Object.entries(r.image_digests || {}).map(([svc, ref]) => el("li", {}, el("strong", {}, svc), " ", el("code", {}, ref)));
      box.replaceChildren(el("h3", {}, `Revision ${rev}`), digests.length ? el("ul", { class: "digests" }, digests) : "",
        ...(r.files || []).map((f) => el("details", { open: "" }, el("summary", {}, f.name), f.content_base64 !== undefined ? el("p", { class: "muted", "data-binary-file": f.name }, `binary, ${f.size} bytes`) : el("pre", { class: "json", tabindex: "0" }, f.content))));
      box.hidden = false;
      box.scrollIntoView({ block: "nearest" });
    } catch (err) { fd.fail(err, "Revision " + rev); }
  }
  async function loadHistory() {
    const status = $("[data-history-status]"), box = $("[data-history]");
    if (!managed()) { status.textContent = "no revisions yet"; box.replaceChildren(); return; }
    try {
      const rows = await fd.api("GET", S.stackPath() + "/history");
      status.textContent = `${rows.length} revisions`;
      const current = state.stack ? state.stack.revision : null;
      const RESULT = { ok: "st-running", failed: "st-dead", rolled_back: "st-created" };
      box.replaceChildren(table("history", ["Revision", "Time", "Who", "Result", "Strategy", "Message", ""], rows.map((h) => {
        const acts = el("td", { class: "actions" }, smallButton("View", () => showRevision(h.revision), { "aria-label": `View revision ${h.revision}` }));
        if (canOperate && h.revision !== current && h.result === "ok") {
          acts.append(" ", smallButton("Roll back", () => S.rollback(h.revision), { "data-rollback": String(h.revision), "aria-label": `Roll back to revision ${h.revision}` }));
        }
        return el("tr", { "data-revision-row": String(h.revision), "aria-current": h.revision === current ? "true" : null },
          el("td", { class: "num strong" }, String(h.revision) + (h.revision === current ? " (current)" : "")), el("td", {}, when(h.time)), el("td", {}, h.actor || "—"),
          el("td", {}, el("span", { class: "state " + (RESULT[h.result] || "") }, h.result)), el("td", {}, h.strategy || "—"), el("td", {}, h.message || ""), acts);
      })));
    } catch (err) { status.textContent = "could not load history: " + err.message; }
  }
  $("[data-history-reload]").addEventListener("click", loadHistory);

  // ---------------------------------------------------------------- variables (secrets write-only)
  // A new stack's variables can be set as soon as it has a name: a secret its files need
  // is set before the first save, which then validates with it.
  async function loadVariables() {
    const box = $("[data-variables]");
    const name = S.knownName();
    if (!name) { box.replaceChildren(el("p", { class: "empty", "data-variables-hint": "" }, "Give the stack a name above, then set its variables and secrets here — before the first save if its files need them.")); return; }
    let rows = [];
    try { rows = await fd.api("GET", `/stacks/${enc(name)}/variables`); }
    catch (err) { if (err.status !== 404) { box.replaceChildren(el("p", { class: "error" }, "could not load variables: " + err.message)); return; } }
    if (!rows.length) { box.replaceChildren(el("p", { class: "empty" }, state.managed ? "No variables." : "No variables yet: set them here before the first save.")); return; }
    box.replaceChildren(table("variables", ["Key", "Value", ""], rows.map((v) => el("tr", { "data-variable": v.key },
      el("td", { class: "mono strong" }, v.key),
      el("td", { class: "mono" }, v.secret ? el("span", { class: "muted" }, "•••••• (secret, write-only)") : (v.value ?? "")),
      el("td", { class: "actions" }, canOperate ? smallButton("Delete", async () => {
        if (!(await fd.confirm(`Delete variable ${v.key}?`, "The next deploy no longer has it.", "Delete"))) return;
        try { await fd.api("DELETE", `/stacks/${enc(name)}/variables/${enc(v.key)}`); fd.toast(`Deleted ${v.key}`, "ok"); loadVariables(); page.dispatchEvent(new CustomEvent("stack:variables")); }
        catch (err) { fd.fail(err, "Delete " + v.key); }
      }, { "aria-label": "Delete " + v.key }, true) : "")))));
  }
  const form = $("[data-variable-form]");
  if (form) form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!S.needName()) return;
    const key = form.elements.key.value, secret = form.elements.secret.checked;
    try {
      await fd.api("PUT", `${S.stackPath()}/variables/${enc(key)}`, { value: form.elements.value.value, secret });
      fd.toast(`Set ${key}${secret ? " (secret)" : ""}`, "ok");
      form.reset();
      loadVariables();
      page.dispatchEvent(new CustomEvent("stack:variables"));
    } catch (err) { fd.fail(err, "Set " + key); }
  });

  // ---------------------------------------------------------------- wiring
  let shown = "editor";
  page.addEventListener("tab:shown", (ev) => {
    shown = ev.detail;
    if (shown === "logs") followLogs(); else stopLogs();
    if (shown === "services") loadPs();
    if (shown === "history") loadHistory();
    if (shown === "variables") loadVariables();
  });
  const refreshShown = () => { if (shown === "services") loadPs(); if (shown === "history") loadHistory(); };
  page.addEventListener("stack:loaded", () => { refreshShown(); if (shown === "variables") loadVariables(); });
  page.addEventListener("stack:deployed", refreshShown);
  let pending = null;
  document.addEventListener("fleet:changed", () => { if (shown !== "services") return; clearTimeout(pending); pending = setTimeout(loadPs, 500); });
})();
