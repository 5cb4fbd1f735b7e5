// Images, volumes, networks, registries, Swarm, users, API tokens and audit: one small table
// engine, one declarative description per page (Swarm's is in swarm.js). Every action goes to
// the /api/v1 route it names.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const root = document.querySelector("[data-resource]");
  const kind = root.dataset.resource;
  const canOperate = !!root.dataset.canOperate, isAdmin = !!root.dataset.isAdmin;
  const envSelect = root.querySelector("[data-env-select]");
  const status = root.querySelector("[data-resource-status]");
  const tableBox = root.querySelector("[data-resource-table]");
  const tools = root.querySelector("[data-resource-tools]");
  const extra = root.querySelector("[data-resource-extra]");
  const filter = root.querySelector("[data-table-filter]");
  const enc = encodeURIComponent;
  const env = () => envSelect.value;
  const envQuery = () => (env() ? "?environment=" + enc(env()) : "");
  const bytes = (n) => { if (n == null) return "—"; const u = ["B", "KiB", "MiB", "GiB"]; let i = 0; while (n >= 1024 && i < 3) { n /= 1024; i++; } return n.toFixed(i ? 1 : 0) + "\u00a0" + u[i]; };
  const when = (iso) => (iso ? iso.replace("T", " ").slice(0, 19) : "—");
  const short = (id) => (id || "").replace("sha256:", "").slice(0, 12);
  const ROLES = ["viewer", "operator", "admin"];
  const ENVIRONMENTS = JSON.parse(root.dataset.environments || "[]");
  const needEnv = (what) => { if (!env()) throw new Error(`choose an environment first (${what} happens on one environment)`); };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (k === "class") e.className = v; else e.setAttribute(k, v); });
    children.flat().forEach((c) => e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c))));
    return e;
  }

  async function run(label, work, confirmText) {
    if (confirmText && !(await fd.confirm(label + "?", confirmText, label))) return;
    try {
      const result = await work();
      fd.toast(label + ": done", "ok");
      load();
      return result;
    } catch (err) { fd.fail(err, label); }
  }

  // ---------------------------------------------------------------- page descriptions
  const PAGES = {
    images: {
      path: () => "/images" + listQuery(),
      checks: [["unused", "only unused"], ["dangling", "only dangling"]],
      columns: [["Environment", (r) => r.environment], ["Node", (r) => r.node],
        ["Tags", (r) => el("span", {}, (r.tags || []).join(", ") || "<none>", r.dangling ? " " : "", r.dangling ? badge("dangling") : "")], ["ID", (r) => short(r.id)],
        ["Size", (r) => bytes(r.size)], ["Created", (r) => when(r.created)], ["Used by", usedBy]],
      actions: (r) => canOperate ? [["Remove", () => run(`Remove image ${(r.tags || [])[0] || short(r.id)}`,
        () => fd.api("DELETE", `/images?environment=${enc(r.environment)}&node=${enc(r.node)}&image=${enc((r.tags || [])[0] || r.id)}`),
        `From ${r.environment}/${r.node}.`), true]] : [],
      // The pull names its own environment (the filter above only narrows the list); it
      // follows the filter when one is chosen there.
      tools: () => canOperate ? [form("Pull an image", [["environment", "environment to pull on", true, ENVIRONMENTS],
        ["image", "REGISTRY/name:tag", true], ["node", "node (optional)"]], pull),
        button("Prune dangling images", () => { needEnv("prune"); return run(`Prune images on ${env()}`, () => fd.api("POST", "/images/prune", { environment: env() }),
          "Untagged images no container uses are deleted; tagged images marked unused stay (remove those one by one)."); })] : [],
      onEnvChange: () => { const pick = tools.querySelector("select[name=environment]"); if (pick && env()) pick.value = env(); },
    },
    // The list comes first; sizes follow from a second request, because each engine walks
    // every file of its volumes for them (bounded on the agent, see the note under the table).
    volumes: {
      path: () => "/volumes" + listQuery(),
      checks: [["unused", "only unused"]],
      columns: [["Environment", (r) => r.environment], ["Node", (r) => r.node], ["Name", (r) => r.name],
        ["Driver", (r) => r.driver], ["Mountpoint", (r) => r.mountpoint], ["Created", (r) => when(r.created)],
        ["Used by", usedBy], ["Size", volumeSize]],
      after: measureVolumes,
      note: "Sizes come from each engine's disk-usage walk (docker system df), started after the list loads; " +
        "an agent waits at most 20 s for it — “timed out” means the engine took longer (the walk goes on, and the next load waits on it).",
      actions: (r) => canOperate ? [["Remove", () => run(`Remove volume ${r.name}`,
        () => fd.api("DELETE", `/volumes/${enc(r.environment)}/${enc(r.name)}?node=${enc(r.node)}`), "Its data is deleted."), true]] : [],
      tools: () => canOperate ? [form("Create a volume", [["name", "name", true], ["node", "node (optional)"]], (v) => {
        needEnv("create"); return run("Create volume " + v.name, () => fd.api("POST", "/volumes", { environment: env(), node: v.node || null, name: v.name }));
      }), button("Prune unused volumes", () => { needEnv("prune"); return run(`Prune volumes on ${env()}`, () => fd.api("POST", "/volumes/prune", { environment: env() }), "Volumes no container uses are deleted, with their data."); })] : [],
    },
    networks: {
      path: () => "/networks" + envQuery(),
      columns: [["Environment", (r) => r.environment], ["Node", (r) => r.node], ["Name", (r) => r.name],
        ["Driver", (r) => r.driver], ["Scope", (r) => r.scope], ["Subnets", (r) => (r.subnets || []).join(", ")],
        ["Containers", (r) => (r.containers || []).length]],
      actions: (r) => canOperate && !["bridge", "host", "none", "ingress", "docker_gwbridge"].includes(r.name) ? [["Remove", () => run(`Remove network ${r.name}`,
        () => fd.api("DELETE", `/networks/${enc(r.environment)}/${enc(r.name)}?node=${enc(r.node)}`), `From ${r.environment}/${r.node}.`), true]] : [],
      tools: () => canOperate ? [form("Create a network", [["name", "name", true], ["driver", "driver (bridge)"], ["node", "node (optional)"]], (v) => {
        needEnv("create"); return run("Create network " + v.name, () => fd.api("POST", "/networks", { environment: env(), node: v.node || null, name: v.name, driver: v.driver || null }));
      }), button("Prune unused networks", () => { needEnv("prune"); return run(`Prune networks on ${env()}`, () => fd.api("POST", "/networks/prune", { environment: env() }), "Networks no container uses are deleted."); })] : [],
    },
    swarm: kind === "swarm" ? window.fleetdeckSwarm({ fd, el, run, form, env, enc, when, canOperate, tools, extra }) : null,
    registries: {
      path: () => "/registries",
      columns: [["Name", (r) => r.name], ["URL", (r) => r.url], ["Username", (r) => r.username || "—"]],
      actions: (r) => isAdmin ? [["Remove", () => run("Remove registry " + r.name, () => fd.api("DELETE", "/registries/" + enc(r.name)),
        "Its stored credentials are deleted; pulls from it are no longer authenticated."), true]] : [],
      tools: () => isAdmin ? [form("Add a registry", [["name", "name", true], ["url", "https://registry.example:5000", true], ["username", "username"], ["password", "password", false, "password"]], async (v, f) => {
        const body = { name: v.name, url: v.url, username: v.username || null, password: v.password || null };
        if (await run("Add registry " + v.name, () => fd.api("POST", "/registries", body))) f.reset();
      }, "The password is write-only: it is stored encrypted and never shown again.")] : [],
      noEnv: true,
    },
    users: {
      path: () => "/users",
      columns: [["User", (r) => r.username], ["Role", (r) => (isAdmin ? roleSelect(r) : r.role)], ["Disabled", (r) => (r.disabled ? "yes" : "no")], ["Created", (r) => when(r.created_at)]],
      actions: (r) => isAdmin ? [
        [r.disabled ? "Enable" : "Disable", () => run(`${r.disabled ? "Enable" : "Disable"} ${r.username}`, () => fd.api("PATCH", "/users/" + enc(r.username), { disabled: !r.disabled }), r.disabled ? null : "They are logged out and their tokens stop working."), !r.disabled],
        ["Delete", () => run("Delete user " + r.username, () => fd.api("DELETE", "/users/" + enc(r.username)), "The account and its tokens are deleted."), true]] : [],
      tools: () => isAdmin ? [form("Add a user", [["username", "username", true], ["password", "password", true, "password"], ["role", "role", false, ROLES]], (v) =>
        run("Add user " + v.username, () => fd.api("POST", "/users", { username: v.username, password: v.password, role: v.role || "viewer" })))] : [],
      noEnv: true,
    },
    tokens: {
      path: () => "/tokens",
      columns: [["Name", (r) => r.name], ["User", (r) => r.user], ["Role", (r) => r.role], ["ID", (r) => r.id],
        ["Created", (r) => when(r.created_at)], ["Expires", (r) => when(r.expires_at)], ["Last used", (r) => when(r.last_used_at)], ["Revoked", (r) => (r.revoked ? "yes" : "no")]],
      actions: (r) => r.revoked ? [] : [["Revoke", () => run("Revoke token " + r.name, () => fd.api("DELETE", "/tokens/" + enc(r.id)), "Scripts using it stop working at once."), true]],
      tools: () => [form("Create an API token", [["name", "name", true], ["role", "role (≤ yours)"], ["expires_in_days", "expires in days"]], async (v) => {
        const body = { name: v.name };
        if (v.role) body.role = v.role;
        if (v.expires_in_days) body.expires_in_days = Number(v.expires_in_days);
        const created = await run("Create token " + v.name, () => fd.api("POST", "/tokens", body));
        if (created) showExtra("New token (shown once — copy it now)", created.token);
      })],
      noEnv: true,
    },
    audit: {
      path: () => `/audit?limit=200${filter.value ? "" : ""}`,
      columns: [["Time", (r) => when(r.time)], ["Actor", (r) => r.actor], ["Action", (r) => r.action],
        ["Target", (r) => r.target], ["Result", (r) => r.result], ["Detail", (r) => (r.detail ? JSON.stringify(r.detail) : "")]],
      actions: () => [],
      noEnv: true,
    },
  };

  // A small table and a small button for the pages' extra sections (alerts.js, heal.js).
  function table(headers, rows) {
    const body = el("tbody");
    rows.forEach((cells) => body.append(el("tr", {}, cells.map((c) => el("td", {}, c)))));
    if (!rows.length) body.append(el("tr", {}, el("td", { colspan: String(headers.length), class: "empty" }, "Nothing here.")));
    return el("div", { class: "table-wrap" }, el("table", { class: "table" }, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))), body));
  }
  function small(label, onClick, danger) {
    const b = el("button", { class: "btn small" + (danger ? " danger" : ""), type: "button" }, label);
    b.addEventListener("click", onClick);
    return b;
  }
  const shared = { fd, el, run, form, enc, when, canOperate, isAdmin, extra, table, small };
  if (window.fleetdeckAlertPages) {
    Object.assign(PAGES, window.fleetdeckAlertPages(Object.assign({ environments: JSON.parse(root.dataset.environments || "[]") }, shared)));
  }
  if (window.fleetdeckHealPages) Object.assign(PAGES, window.fleetdeckHealPages(shared));

  // ---------------------------------------------------------------- helpers
  const badge = (text, cls, title) => el("span", Object.assign({ class: "badge" + (cls ? " " + cls : "") }, title ? { title } : {}), text);
  // The environment and the page's checked filters (only unused, only dangling) as a query.
  function listQuery(extra) {
    const q = new URLSearchParams(Object.assign(env() ? { environment: env() } : {}, extra || {}));
    checks.forEach((box) => { if (box.checked) q.set(box.name, "true"); });
    const text = q.toString();
    return text ? "?" + text : "";
  }
  // "unused" (a badge), or the names of the containers, running or stopped, that use it.
  function usedBy(r) {
    if (r.in_use == null) return "—";
    if (!r.in_use) return badge("unused", "st-exited");
    const names = r.used_by || [];
    return el("span", { title: names.join(", ") }, names.slice(0, 3).join(", ") + (names.length > 3 ? ` +${names.length - 3}` : ""));
  }
  const SIZE_STATES = { not_requested: ["measuring…"], timed_out: ["timed out", "st-exited"], failed: ["failed", "st-dead"], unknown: ["unknown"] };
  function volumeSize(r) {
    if (r.size_status === "measured") return bytes(r.size);
    const [text, cls] = SIZE_STATES[r.size_status] || ["—"];
    return r.size_status === "not_requested" ? el("span", { class: "muted" }, text) : badge(text, cls, r.size_error || "");
  }
  // Fill the Size column from a listing with ?size=true, matched by environment/node/name.
  async function measureVolumes(current) {
    if (!rows.length) return;
    const key = (v) => `${v.environment}/${v.node}/${v.name}`;
    let sized;
    try { sized = new Map((await fd.api("GET", "/volumes" + listQuery({ size: "true" }))).items.map((v) => [key(v), v])); }
    catch (err) { sized = { get: () => ({ size: null, size_status: "failed", size_error: err.message }) }; }
    if (!current()) return;
    rows.forEach((r) => {
      const found = sized.get(key(r)) || { size: null, size_status: "unknown" };
      Object.assign(r, { size: found.size, size_status: found.size_status, size_error: found.size_error });
    });
    render();
  }
  // fields: [name, placeholder, required, type] — type "password", or a list of options (a select).
  function form(title, fields, submit, note) {
    const f = el("form", { class: "row wrap" });
    fields.forEach(([name, placeholder, required, type]) => {
      const input = Array.isArray(type) ? el("select", { name, "aria-label": placeholder }, type.map((o) => el("option", {}, o)))
        : el("input", { name, placeholder, "aria-label": placeholder });
      if (required) input.required = true;
      if (type === "password") { input.type = type; input.autocomplete = "new-password"; }
      f.append(el("label", {}, name.replace(/_/g, " "), input));
    });
    const btn = el("button", { class: "btn primary", type: "submit" }, title);
    f.append(btn);
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const values = Object.fromEntries(new FormData(f).entries());
      btn.disabled = true;
      try { await submit(values, f); } catch (err) { fd.fail(err, title); }
      btn.disabled = false;
    });
    return el("div", {}, el("h2", {}, title), f, note ? el("p", { class: "muted small" }, note) : "");
  }
  function roleSelect(r) {
    const s = el("select", { "aria-label": "role of " + r.username }, ROLES.map((o) => el("option", {}, o)));
    s.value = r.role;
    s.addEventListener("change", async () => {
      const to = s.value;
      const done = await run(`Change ${r.username}'s role to ${to}`, () => fd.api("PATCH", "/users/" + enc(r.username), { role: to }),
        `${r.username} goes from ${r.role} to ${to}; their API tokens keep the role they were created with, capped by the new one.`);
      if (!done) s.value = r.role;
    });
    return s;
  }
  function button(label, onClick) {
    const b = el("button", { class: "btn danger", type: "button" }, label);
    b.addEventListener("click", async () => { try { await onClick(); } catch (err) { fd.fail(err, label); } });
    return el("div", { class: "row" }, b);
  }
  function showExtra(title, text) {
    extra.hidden = false;
    extra.replaceChildren(el("h2", {}, title), el("div", { class: "copybox" }, el("pre", { class: "mono" }, text),
      el("button", { class: "btn small", type: "button", "data-copy": "" }, "Copy")));
  }

  async function pull(v) {
    const environment = v.environment || env();
    if (!environment) throw new Error("choose the environment to pull on");
    const box = el("div", { class: "progress", role: "status" }, "starting…");
    extra.hidden = false;
    extra.replaceChildren(el("h2", {}, `Pulling ${v.image} on ${environment}`), box);
    const resp = await fd.api("POST", "/images/pull", { environment, node: v.node || null, image: v.image }, { raw: true });
    const reader = resp.body.getReader(), dec = new TextDecoder();
    let buf = "", failed = null;
    const layers = {};
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      const parts = buf.split("\n"); buf = parts.pop();
      parts.filter((p) => p.trim()).forEach((p) => {
        const m = JSON.parse(p);
        if (m.error) failed = m.message || m.error;
        else if (m.id) layers[m.id] = `${m.id}: ${m.status || ""} ${m.progress || ""}`;
        else layers["~" + Object.keys(layers).length] = m.status || JSON.stringify(m);
      });
      box.textContent = Object.values(layers).join("\n");
    }
    if (failed) throw new Error(failed);
    fd.toast("Pulled " + v.image, "ok");
    load();
  }

  // ---------------------------------------------------------------- render
  const page = PAGES[kind];
  let rows = [];
  function render() {
    const q = filter.value.toLowerCase();
    const shown = rows.filter((r) => !q || JSON.stringify(r).toLowerCase().includes(q));
    const head = el("tr", {}, page.columns.map(([h]) => el("th", {}, h)), el("th", {}, el("span", { class: "sr-only" }, "Actions")));
    const body = el("tbody");
    shown.forEach((r) => {
      const acts = el("td", { class: "actions" });
      page.actions(r).forEach(([label, fn, danger]) => {
        const b = el("button", { class: "btn small" + (danger ? " danger" : ""), type: "button" }, label);
        b.addEventListener("click", fn);
        acts.append(b, " ");
      });
      body.append(el("tr", {}, page.columns.map(([, get]) => el("td", {}, get(r))), acts));
    });
    if (!shown.length) body.append(el("tr", {}, el("td", { colspan: String(page.columns.length + 1), class: "empty" }, rows.length ? "No row matches the filter." : "Nothing here.")));
    tableBox.replaceChildren(el("table", { class: "table" }, el("thead", {}, head), body),
      page.note ? el("p", { class: "muted small", "data-resource-note": "" }, page.note) : "");
  }

  // Loads overlap (a finished pull reloads every environment while the user picks one): only
  // the newest load may draw, or a slow older answer would overwrite the list just chosen.
  let generation = 0;
  async function load() {
    const mine = ++generation;
    const path = page.path();
    if (!path) { status.textContent = page.empty || "Choose an environment."; tableBox.replaceChildren(); return; }
    status.textContent = "loading…";
    try {
      const data = await fd.api("GET", path);
      if (mine !== generation) return;
      rows = page.rows ? page.rows(data) : Array.isArray(data) ? data : data.items;
      const missing = (data && data.unreachable) || [];
      status.textContent = `${rows.length} item(s)` + (data && data.total != null ? ` of ${data.total}` : "") +
        (missing.length ? ` — unreachable, not listed: ${missing.join(", ")}` : "");
      render();
      if (page.after) await page.after(() => mine === generation);
    } catch (err) {
      if (mine !== generation) return;
      rows = []; render();
      status.textContent = "error: " + err.message + (err.hint ? " — " + err.hint : "");
    }
  }

  if (page.noEnv) envSelect.closest("label").hidden = true;
  let lastFilter = envSelect.closest("label");
  const checks = (page.checks || []).map(([name, label]) => {
    const box = el("input", { type: "checkbox", name, "data-resource-check": name });
    const wrap = el("label", { class: "inline" }, box, " " + label);
    lastFilter.after(wrap);
    lastFilter = wrap;
    box.addEventListener("change", load);
    return box;
  });
  const made = page.tools ? page.tools() : [];
  if (made.length) tools.replaceChildren(...made); else tools.hidden = true;
  envSelect.addEventListener("change", () => { if (page.onEnvChange) page.onEnvChange(); load(); });
  filter.addEventListener("input", render);
  root.querySelector("[data-reload]").addEventListener("click", load);
  load();
})();
