// One stack's page: the Compose editor with validation as you type, diff preview, deploy and
// rollback progress read from the NDJSON stream, adoption of a discovered project, removal.
// The tabs (services, logs, history, variables) are in stack_panels.js, which uses the helpers
// this file puts on window.fleetdeckStack.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const page = document.querySelector("[data-stack-page]");
  const $ = (s) => page.querySelector(s);
  const enc = encodeURIComponent;
  const canOperate = !!page.dataset.canOperate;
  const environments = JSON.parse(page.dataset.environments || "[]");
  const VALIDATE_DELAY_MS = 350;
  const state = {
    name: page.dataset.name, environment: page.dataset.environment, managed: false, adopt: false,
    files: [{ name: "compose.yaml", content: $("[data-editor]").value }], current: 0, stack: null,
    valid: null, busy: false,
  };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (k === "class") e.className = v; else if (v !== null && v !== undefined) e.setAttribute(k, v); });
    children.flat().forEach((c) => e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c))));
    return e;
  }
  const stackPath = () => "/stacks/" + enc(state.name);
  // The stack's name as far as it is known: a new stack's name field counts once valid, so
  // its variables can be set (and validation can use them) before the first save.
  function knownName() {
    if (state.name) return state.name;
    const input = $("[data-stack-name]");
    return input && input.value && input.checkValidity() ? input.value : null;
  }
  const envSelect = $("[data-stack-env]");
  const chosenEnv = () => (envSelect ? envSelect.value : state.environment);
  const envFile = () => $("[data-envfile]").value || null;
  // A binary file (not UTF-8) comes as {name, content_base64, size}: shown read-only as
  // "binary, N bytes" and sent back untouched, so saving from the editor keeps it.
  const isBinary = (f) => f.content_base64 !== undefined;
  const fromServer = (f) => (isBinary(f) ? { name: f.name, content_base64: f.content_base64, size: f.size } : { name: f.name, content: f.content });
  const sendable = () => state.files.map((f) => (isBinary(f) ? { name: f.name, content_base64: f.content_base64 } : { name: f.name, content: f.content }));
  const body = (extra) => Object.assign({ environment: chosenEnv(), files: sendable(), env_file: envFile() }, extra || {});

  // ---------------------------------------------------------------- tabs (arrow keys move)
  const select = fd.setupTabs(page, (name) => page.dispatchEvent(new CustomEvent("tab:shown", { detail: name })));

  // ---------------------------------------------------------------- editor and its files
  const editor = $("[data-editor]"), gutter = $("[data-gutter]"), filesBar = $("[data-files]");
  const binaryNote = el("p", { class: "muted small", "data-binary-note": "", hidden: "" });
  filesBar.after(binaryNote);
  let errorLines = new Set();
  function drawGutter() {
    const n = editor.value.split("\n").length;
    const parts = [];
    for (let i = 1; i <= n; i++) parts.push(errorLines.has(i) ? `<span class="bad">${i}</span>` : String(i));
    gutter.innerHTML = parts.join("\n");
    gutter.scrollTop = editor.scrollTop;
  }
  function drawFiles() {
    filesBar.replaceChildren(...state.files.map((f, i) => {
      const label = isBinary(f) ? `${f.name} (binary, ${f.size} bytes)` : f.name;
      const b = el("button", { type: "button", class: "btn small" + (i === state.current ? " primary" : ""), "aria-pressed": String(i === state.current), "data-file": f.name }, label);
      b.addEventListener("click", () => openFile(i));
      return b;
    }));
    if (canOperate) {
      const add = el("button", { type: "button", class: "btn small ghost", "data-add-file": "" }, "+ override file");
      add.addEventListener("click", () => {
        const n = state.files.length;
        state.files.push({ name: n === 1 ? "compose.override.yaml" : `compose.override${n}.yaml`, content: "services: {}\n" });
        openFile(n); validateSoon();
      });
      filesBar.append(add);
      if (state.files.length > 1) {
        const rm = el("button", { type: "button", class: "btn small ghost", "aria-label": "Remove this file from the stack" }, "× remove file");
        rm.addEventListener("click", () => { state.files.splice(state.current, 1); openFile(Math.max(0, state.current - 1)); validateSoon(); });
        filesBar.append(rm);
      }
    }
  }
  function openFile(i, line) {
    state.current = i;
    const f = state.files[i], binary = isBinary(f);
    editor.value = binary ? "" : f.content;
    editor.readOnly = binary || !canOperate;
    binaryNote.hidden = !binary;
    binaryNote.textContent = binary ? `${f.name}: binary, ${f.size} bytes — read-only here, kept as it is when the stack is saved` : "";
    editor.setAttribute("aria-label", (binary ? "Binary file " : "Compose file ") + f.name);
    drawFiles(); markErrors(); drawGutter();
    if (line) goToLine(line);
  }
  function goToLine(line) {
    const lines = editor.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + (lines[line - 1] || "").length);
    editor.scrollTop = Math.max(0, (line - 4) * parseFloat(getComputedStyle(editor).lineHeight || "18"));
    drawGutter();
  }
  editor.addEventListener("input", () => {
    if (isBinary(state.files[state.current])) return;
    state.files[state.current].content = editor.value; drawGutter(); validateSoon();
  });
  editor.addEventListener("scroll", () => { gutter.scrollTop = editor.scrollTop; });
  $("[data-envfile]").addEventListener("input", validateSoon);

  // ---------------------------------------------------------------- validation as you type
  const validation = $("[data-validation]");
  let timer = null, inflight = null, seq = 0, lastErrors = [];
  function validateSoon() { clearTimeout(timer); timer = setTimeout(validate, VALIDATE_DELAY_MS); validation.dataset.state = "pending"; }
  function markErrors() {
    const name = state.files[state.current] && state.files[state.current].name;
    errorLines = new Set(lastErrors.filter((e) => e.line && (!e.file || e.file === name || state.files.length === 1)).map((e) => e.line));
  }
  async function validate() {
    const mine = ++seq;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    try {
      // With the stack's name, its stored variables (secrets as set, never read) count.
      const result = await fd.api("POST", "/stacks/validate", { files: sendable(), env_file: envFile(), variables: {}, stack: knownName() }, { signal: inflight.signal });
      if (mine !== seq) return;
      showValidation(result);
    } catch (err) {
      if (err.name === "AbortError" || mine !== seq) return;
      showValidation({ ok: false, errors: [{ file: null, line: null, message: err.message }] });
    }
  }
  function showValidation(result) {
    state.valid = !!result.ok;
    lastErrors = result.ok ? [] : result.errors || [];
    validation.dataset.state = result.ok ? "ok" : "bad";
    if (result.ok) {
      const svcs = result.services || [];
      validation.replaceChildren(el("p", { class: "ok-text" }, `✓ valid — ${svcs.length} service${svcs.length === 1 ? "" : "s"}: ${svcs.join(", ")}`),
        ...(result.warnings || []).map((w) => el("p", { class: "warn-text small" }, "⚠ " + w)));
    } else {
      validation.replaceChildren(el("ul", { class: "errors" }, lastErrors.map((e) => {
        const where = e.file ? `${e.file}${e.line ? ":" + e.line : ""}` : "";
        const li = el("li", { class: "error", "data-error": where });
        if (e.line) {
          const b = el("button", { type: "button", class: "linklike", title: "Go to this line" }, where);
          b.addEventListener("click", () => { const i = state.files.findIndex((f) => f.name === e.file); openFile(i < 0 ? state.current : i, e.line); });
          li.append(b, " ");
        } else if (where) li.append(where + " ");
        li.append(e.message);
        if (e.hint) li.append(el("span", { class: "muted small", "data-error-hint": "" }, " — " + e.hint));
        return li;
      })));
    }
    markErrors(); drawGutter();
    page.dispatchEvent(new CustomEvent("stack:validated", { detail: result }));
  }

  // ---------------------------------------------------------------- diff preview
  const ACTION_CLASS = { create: "st-running", recreate: "st-created", scale: "st-created", remove: "st-dead", unchanged: "" };
  const actionBadge = (a) => el("span", { class: "state " + (ACTION_CLASS[a] || ""), "data-action-badge": a }, a);
  function renderDiff(diff) {
    const changes = diff.changes || [];
    const table = el("table", { class: "table diff" }, el("thead", {}, el("tr", {}, ["Service", "Action", "Replicas", "Reason"].map((h) => el("th", {}, h)))),
      el("tbody", {}, changes.map((c) => el("tr", { "data-change": c.service },
        el("td", { class: "strong" }, c.service), el("td", {}, actionBadge(c.action)),
        el("td", { class: "num" }, c.replicas_before === c.replicas_after ? String(c.replicas_after ?? "") : `${c.replicas_before} → ${c.replicas_after}`),
        el("td", {}, c.reason || "")))));
    const parts = [changes.length ? table : el("p", { class: "empty" }, "No services.")];
    const findings = diff.findings || [];
    if (findings.length) {
      parts.push(el("h3", {}, "Hardening"), el("ul", { class: "findings" }, findings.map((f) =>
        el("li", { class: f.blocking ? "error" : "warn-text", "data-finding": f.rule }, `${f.blocking ? "⛔ blocks the deploy" : "⚠"} ${f.service}: ${f.message} (${f.rule})`))));
    }
    (diff.notes || []).forEach((n) => parts.push(el("p", { class: "notice small", "data-note": "" }, "ℹ " + n)));
    $("[data-diff]").replaceChildren(...parts);
    $("[data-diff-panel]").hidden = false;
  }
  async function previewDiff() {
    if (!needName()) return;
    const btn = $("[data-stack-diff]");
    btn.disabled = true;
    try { renderDiff(await fd.api("POST", stackPath() + "/diff", body())); $("[data-diff-panel]").scrollIntoView({ block: "nearest" }); }
    catch (err) { fd.fail(err, "Diff"); }
    finally { btn.disabled = false; }
  }

  // ---------------------------------------------------------------- deploy / rollback stream
  const deployRows = {};
  function progressRow(service, action) {
    if (!deployRows[service]) {
      const row = el("tr", { "data-progress": service }, el("td", { class: "strong" }, service), el("td", {}, action ? actionBadge(action) : ""),
        el("td", { "data-step": "" }, action === "unchanged" ? "—" : "waiting"), el("td", { "data-status": "" }, ""), el("td", { "data-message": "" }, ""));
      $("[data-deploy-services]").append(row);
      deployRows[service] = row;
    }
    return deployRows[service];
  }
  function onEvent(ev) {
    const log = $("[data-deploy-log]");
    if (ev.type === "plan") {
      (ev.changes || []).forEach((c) => progressRow(c.service, c.action));
      log.append(`plan: ${(ev.changes || []).map((c) => c.service + " " + c.action).join(", ")}\n`);
    } else if (ev.type === "progress") {
      log.append(`${(ev.time || "").slice(11, 19)} ${ev.service ? ev.service + " " : ""}${ev.step} ${ev.status}: ${ev.message}\n`);
      if (ev.service) {
        const row = progressRow(ev.service);
        row.querySelector("[data-step]").textContent = ev.step;
        const st = row.querySelector("[data-status]");
        st.textContent = ev.status;
        st.className = ev.status === "failed" ? "error" : ev.status === "ok" ? "ok-text" : "";
        row.querySelector("[data-message]").textContent = ev.message;
      }
    } else if (ev.type === "result") {
      const box = $("[data-deploy-result]");
      box.className = "deploy-result " + (ev.ok ? "ok" : "bad");
      box.dataset.result = ev.ok ? "ok" : "failed";
      // A rolled-back deploy's message says so itself, and which revision runs again: adding
      // "rolled back" and the undone revision's number here said it twice.
      box.dataset.rolledBack = ev.rolled_back ? "true" : "false";
      box.textContent = (ev.ok ? "✓ " : "✗ ") + (ev.message || (ev.ok ? "deployed" : "failed")) +
        (ev.revision != null && !ev.rolled_back ? ` (revision ${ev.revision})` : "");
      log.append(`result: ${ev.ok ? "ok" : "failed"} ${ev.message || ""}\n`);
    }
    log.scrollTop = log.scrollHeight;
  }
  async function readStream(resp) {
    let result = null;
    await fd.readNdjson(resp, (ev) => { if (ev.type === "result") result = ev; onEvent(ev); });
    return result;
  }
  async function streamAction(title, path, payload) {
    if (state.busy) return null;
    state.busy = true;
    page.querySelectorAll(".actionsbar button, [data-rollback]").forEach((b) => { b.disabled = true; });
    Object.keys(deployRows).forEach((k) => delete deployRows[k]);
    $("[data-deploy-services]").replaceChildren();
    $("[data-deploy-log]").textContent = "";
    const res = $("[data-deploy-result]");
    res.className = "deploy-result"; res.dataset.result = "running"; res.textContent = title + "…";
    $("[data-deploy-title]").textContent = title;
    $("[data-diff-panel]").hidden = true;  // what it previewed is being applied now
    $("[data-deploy-panel]").hidden = false;
    $("[data-deploy-panel]").scrollIntoView({ block: "nearest" });
    let result = null;
    try {
      const resp = await fd.api("POST", path, payload, { raw: true });
      result = await readStream(resp);
      if (!result) onEvent({ type: "result", ok: false, message: "the stream ended without a result: reload to see the stack's state" });
    } catch (err) {
      onEvent({ type: "result", ok: false, message: err.message + (err.hint ? " — " + err.hint : "") });
    } finally {
      state.busy = false;
      page.querySelectorAll(".actionsbar button, [data-rollback]").forEach((b) => { b.disabled = false; });
    }
    page.dispatchEvent(new CustomEvent("stack:deployed", { detail: result }));
    return result;
  }
  async function deploy() {
    if (!needName()) return;
    const result = await streamAction("Deploy " + state.name, stackPath() + "/deploy", body({ strategy: $("[data-stack-strategy]").value }));
    if (result) { becomeStack(); load(); }
  }
  async function rollback(revision) {
    const label = revision == null ? "the previous revision" : "revision " + revision;
    if (!(await fd.confirm(`Roll back ${state.name} to ${label}?`, "Its files, variables and image digests are deployed again.", "Roll back"))) return;
    const result = await streamAction(`Roll back ${state.name} to ${label}`, stackPath() + "/rollback", { revision });
    if (result) load();
  }

  // ---------------------------------------------------------------- save, adopt, remove
  function needName() {
    if (state.name) return true;
    const input = $("[data-stack-name]");
    if (knownName()) { state.name = input.value; input.readOnly = true; return true; }
    fd.toast("Give the stack a name first (lower-case letters, digits, - and _)", "bad");
    if (input) { select("editor"); input.focus(); }
    return false;
  }
  const nameInput = $("[data-stack-name]");
  if (nameInput) nameInput.addEventListener("input", validateSoon);
  // A new stack, once saved or deployed, is that stack's page (without a reload, so the
  // deploy's progress stays in view).
  function becomeStack() {
    if (location.pathname === "/stacks/" + enc(state.name)) return;
    history.replaceState(null, "", "/stacks/" + enc(state.name));
    const input = $("[data-stack-name]");
    if (input) input.closest("label").hidden = true;
    document.title = state.name + " · fleetdeck";
    const head = document.querySelector(".page-head h1");
    if (head) head.lastChild.textContent = " / " + state.name;
  }

  async function save() {
    if (!needName()) return;
    try {
      await fd.api("PUT", stackPath(), body());
      fd.toast(`Saved ${state.name} (not deployed)`, "ok");
      becomeStack();
      load();
    } catch (err) { fd.fail(err, "Save"); }
  }
  async function adopt() {
    const ok = await fd.confirm(`Adopt ${state.name}?`, `fleetdeck manages ${state.name} on ${chosenEnv()} from now on. Nothing is restarted now; the next deploy takes over its containers (those made by another tool are recreated once).`, "Adopt");
    if (!ok) return;
    try {
      const result = await fd.api("POST", stackPath() + "/adopt", body());
      (result && result.warnings || []).forEach((w) => fd.toast(w, "bad"));
      fd.toast(`${state.name} is now managed by fleetdeck`, "ok");
      state.adopt = false;
      load();
    } catch (err) { fd.fail(err, "Adopt"); }
  }
  async function remove() {
    const ok = await fd.confirm(`Remove stack ${state.name}?`, "Its containers or services, networks and secrets are removed and fleetdeck forgets it. Named volumes are kept.", "Remove");
    if (!ok) return;
    const btn = $("[data-stack-remove]");
    btn.disabled = true; btn.textContent = "Removing…";
    try { await fd.api("DELETE", stackPath()); fd.toast(`Removed ${state.name}`, "ok"); location.href = "/stacks"; }
    catch (err) { fd.fail(err, "Remove"); btn.disabled = false; btn.textContent = "Remove"; }
  }

  // ---------------------------------------------------------------- loading the stack
  function summary(s) {
    const parts = [s.environment, s.kind, s.status, s.managed ? `revision ${s.revision ?? "—"}` : "not managed by fleetdeck"];
    document.querySelector("[data-stack-summary]").textContent = parts.filter(Boolean).join(" · ");
  }
  function setMode() {
    const show = (sel, on) => { const b = $(sel); if (b) b.hidden = !on; };
    show("[data-stack-adopt]", state.adopt);
    show("[data-stack-deploy]", !state.adopt);
    show("[data-stack-save]", !state.adopt);
    show("[data-stack-remove]", state.managed);
    const strategy = $("[data-stack-strategy]");
    if (strategy) strategy.closest("label").hidden = state.adopt;
    page.dataset.mode = state.adopt ? "adopt" : state.managed ? "managed" : "new";
  }
  async function loadDiscovered() {
    const all = await fd.api("GET", "/stacks");
    const found = all.find((s) => s.name === state.name && !s.managed && (!state.environment || s.environment === state.environment));
    if (!found) throw new fd.ApiError(404, { message: `no stack ${state.name}`, hint: "see the stacks list" });
    state.adopt = true;
    state.environment = found.environment;
    if (envSelect) envSelect.value = found.environment;
    summary(found);
    const notice = $("[data-adopt-notice]");
    notice.hidden = false;
    const files = (found.config_files || "").split(",").filter(Boolean)
      .map((f) => (f.startsWith("/") || !found.working_dir ? f : `${found.working_dir}/${f}`)).join(", ");
    notice.textContent = `${found.name} runs on ${found.environment}` + (found.made_by ? ` (made by ${found.made_by}` + (files ? `, from ${files}` : "") + ")" : "") +
      ` but fleetdeck does not manage it. ` + (canOperate ? "Paste its Compose file below and adopt it; nothing is restarted until you deploy." : "");
    if (!editor.value.trim()) {
      const svcs = found.service_names || [];
      state.files[0].content = "# The Compose file this project was started from.\nservices:\n" + svcs.map((s) => `  ${s}:\n    image: \n`).join("");
      openFile(0);
    }
  }
  async function showAllowances() {
    // Dangerous settings block non-admins unless an admin allowed them (stack allow).
    const box = $("[data-stack-allowances]");
    try {
      const a = await fd.api("GET", stackPath() + "/allowances");
      const own = a.rules.length ? a.rules.join(", ") : "none";
      const env = a.environment ? `; for environment ${a.environment}: ${a.environment_rules.join(", ") || "none"}` : "";
      box.textContent = `Dangerous settings allowed for non-admin deploys — this stack: ${own}${env}`;
      box.hidden = false;
    } catch (err) { box.hidden = true; }
  }
  async function load() {
    if (!state.name) { setMode(); validate(); return; }
    try {
      const s = await fd.api("GET", stackPath());
      // Variables set before the first save make a stack with no files yet: still new.
      state.stack = s; state.managed = s.managed !== false && (s.files || []).length > 0; state.adopt = false;
      state.environment = s.environment;
      if (envSelect) envSelect.value = s.environment;
      if (s.files && s.files.length) { state.files = s.files.map(fromServer); openFile(Math.min(state.current, state.files.length - 1)); }
      $("[data-envfile]").value = s.env_file || "";
      $("[data-adopt-notice]").hidden = true;
      summary(s);
      showAllowances();
    } catch (err) {
      if (err.status !== 404) { fd.fail(err, "Load " + state.name); return; }
      try { await loadDiscovered(); } catch (e2) { document.querySelector("[data-stack-summary]").textContent = "not found: " + e2.message; }
    }
    setMode();
    validate();
    page.dispatchEvent(new CustomEvent("stack:loaded", { detail: state }));
  }

  const on = (sel, fn) => { const b = $(sel); if (b) b.addEventListener("click", fn); };
  on("[data-stack-diff]", previewDiff);
  on("[data-stack-deploy]", deploy);
  on("[data-stack-save]", save);
  on("[data-stack-adopt]", adopt);
  on("[data-stack-remove]", remove);
  page.addEventListener("keydown", (ev) => {
    if (!canOperate || !(ev.ctrlKey || ev.metaKey)) return;
    if (ev.key === "Enter") { ev.preventDefault(); previewDiff(); }
    if (ev.key === "s") { ev.preventDefault(); if (!state.adopt) save(); }
  });

  page.addEventListener("stack:variables", validateSoon);  // a variable set may fix an error
  window.fleetdeckStack = { state, el, page, stackPath, rollback, select, canOperate, environments, needName, knownName };
  drawFiles(); drawGutter(); load();
})();
