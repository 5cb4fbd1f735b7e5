// A container's page: tabs, live logs (NDJSON read with fetch streaming), inspect.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const page = document.querySelector("[data-container-page]");
  const ref = page.dataset.ref;
  const $ = (s) => page.querySelector(s);

  // ---------------------------------------------------------------- tabs (arrow keys move)
  const select = fd.setupTabs(page, (name) => {
    history.replaceState(null, "", "#" + name);
    page.dispatchEvent(new CustomEvent("tab:shown", { detail: name }));
  });

  // ---------------------------------------------------------------- logs
  const out = $("[data-logs]"), status = $("[data-logs-status]"), toggle = $("[data-logs-toggle]");
  const search = $("[data-logs-search]");
  const MAX_LINES = 20000;
  const logs = { lines: [], paused: false, pending: 0, controller: null, running: false };
  window.fleetdeckLogs = logs;

  function lineNode(l) {
    const span = document.createElement("span");
    if (l.stream === "stderr") span.className = "err";
    if (l.time && $("[data-logs-timestamps]").checked) {
      const ts = document.createElement("span");
      ts.className = "ts";
      ts.textContent = l.time.replace("T", " ").slice(0, 23) + "  ";
      span.appendChild(ts);
    }
    const q = search.value;
    const text = l.line;
    if (q) {
      const i = text.toLowerCase().indexOf(q.toLowerCase());
      span.appendChild(document.createTextNode(text.slice(0, i)));
      const m = document.createElement("mark");
      m.textContent = text.slice(i, i + q.length);
      span.appendChild(m);
      span.appendChild(document.createTextNode(text.slice(i + q.length) + "\n"));
    } else {
      span.appendChild(document.createTextNode(text + "\n"));
    }
    return span;
  }
  const matches = (l) => !search.value || l.line.toLowerCase().includes(search.value.toLowerCase());

  function append(batch) {
    const stick = out.scrollTop + out.clientHeight >= out.scrollHeight - 30;
    const frag = document.createDocumentFragment();
    batch.filter(matches).forEach((l) => frag.appendChild(lineNode(l)));
    out.appendChild(frag);
    while (out.childNodes.length > MAX_LINES) out.removeChild(out.firstChild);
    if (stick) out.scrollTop = out.scrollHeight;
  }
  function rerender() {
    out.textContent = "";
    append(logs.lines);
    logs.pending = 0;
  }

  async function follow() {
    if (logs.controller) logs.controller.abort();
    const controller = new AbortController();
    logs.controller = controller;
    logs.lines = []; out.textContent = "";
    const tail = $("[data-logs-tail]").value;
    status.textContent = "connecting…";
    try {
      const resp = await fd.api("GET", `/containers/${ref}/logs?follow=1&timestamps=1&tail=${tail}`, undefined,
        { raw: true, signal: controller.signal });
      logs.running = true;
      status.textContent = "following";
      let batch = [];
      await fd.readNdjson(resp, (l) => {
        if (l.error) fd.toast("logs: " + l.message, "bad"); else batch.push(l);
      }, () => {
        logs.lines.push(...batch);
        if (logs.lines.length > MAX_LINES) logs.lines.splice(0, logs.lines.length - MAX_LINES);
        if (logs.paused) { logs.pending += batch.length; status.textContent = `paused — ${logs.pending} new lines`; }
        else append(batch);
        batch = [];
      });
      status.textContent = "stream ended (container stopped?) — choose Tail or Resume to reconnect";
    } catch (err) {
      if (err.name !== "AbortError") { status.textContent = "error: " + err.message; fd.fail(err, "logs"); }
    } finally {
      logs.running = false;
    }
  }

  toggle.addEventListener("click", () => {
    if (!logs.running) { logs.paused = false; toggle.textContent = "Pause"; follow(); return; }
    logs.paused = !logs.paused;
    toggle.textContent = logs.paused ? "Resume" : "Pause";
    toggle.setAttribute("aria-pressed", String(logs.paused));
    if (!logs.paused) { rerender(); status.textContent = "following"; out.scrollTop = out.scrollHeight; }
  });
  search.addEventListener("input", rerender);
  $("[data-logs-timestamps]").addEventListener("change", rerender);
  $("[data-logs-tail]").addEventListener("change", follow);
  $("[data-logs-clear]").addEventListener("click", () => { logs.lines = []; out.textContent = ""; });
  $("[data-logs-download]").addEventListener("click", () => {
    const text = logs.lines.map((l) => (l.time ? l.time + " " : "") + l.line).join("\n") + "\n";
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    a.download = ref.replace(/\//g, "_") + ".log";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });

  // ---------------------------------------------------------------- inspect
  const inspect = $("[data-inspect]");
  async function loadInspect() {
    inspect.textContent = "loading…";
    try { inspect.textContent = JSON.stringify(await fd.api("GET", "/containers/" + ref), null, 2); }
    catch (err) { inspect.textContent = "error: " + err.message; }
  }
  $("[data-inspect-reload]").addEventListener("click", loadInspect);
  $("[data-inspect-copy]").addEventListener("click", () => navigator.clipboard.writeText(inspect.textContent)
    .then(() => fd.toast("Copied", "ok"), () => fd.toast("Copy failed", "bad")));

  page.addEventListener("tab:shown", (ev) => {
    if (ev.detail === "logs" && !logs.running && !logs.controller) follow();
    if (ev.detail === "inspect" && inspect.textContent === "loading…") loadInspect();
  });
  // Offer only the actions that make sense in the current state (kept live).
  const ALLOWED = {
    start: (st) => st !== "running" && st !== "paused",
    stop: (st) => st === "running" || st === "restarting",
    restart: () => true,
    pause: (st) => st === "running",
    unpause: (st) => st === "paused",
    kill: (st) => st === "running" || st === "restarting",
    remove: () => true,
  };
  function syncActions() {
    const overview = page.querySelector("[data-overview]");
    if (!overview) return;
    const st = overview.dataset.state;
    page.querySelectorAll(".actionsbar [data-action]").forEach((b) => {
      if (!b.classList.contains("busy")) b.disabled = !ALLOWED[b.dataset.action](st);
    });
  }
  document.addEventListener("fleet:refreshed", syncActions);

  // Recreate (optionally pulling first): a new container with the same configuration. The
  // page is loaded again after it, as the container has a new id (and maybe a new image).
  page.querySelectorAll("[data-recreate]").forEach((btn) => btn.addEventListener("click", async () => {
    const pull = btn.dataset.recreate === "pull";
    const ok = await fd.confirm(`${pull ? "Pull and recreate" : "Recreate"} ${ref}?`,
      (pull ? "The image is pulled first; if that fails nothing changes. " : "") +
      "A new container with the same configuration replaces this one (the old one is stopped and removed; named volumes stay).",
      pull ? "Pull & recreate" : "Recreate");
    if (!ok) return;
    btn.disabled = true; btn.classList.add("busy");
    try {
      const result = await fd.api("POST", `/containers/${ref}/recreate`, { pull });
      fd.toast(`recreated ${ref}: new id ${result.container.id.slice(0, 12)}`, "ok");
      location.reload();
    } catch (err) {
      fd.fail(err, "recreate");
      btn.disabled = false; btn.classList.remove("busy");
    }
  }));
  syncActions();

  const initial = Array.from(page.querySelectorAll("[role=tab]")).find((t) => "#" + t.dataset.tab === location.hash);
  if (initial) select(initial);
})();
