// fleetdeck UI: what every page shares — API calls, toasts, confirmation, live updates,
// theme, login/logout and container actions. No framework, no build step.
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `request failed (${status})`);
      this.status = status;
      this.kind = body && body.error;
      this.hint = body && body.hint;
    }
  }

  // Every action goes to /api/v1 with the session cookie (same origin, SameSite=Strict).
  async function api(method, path, body, options) {
    const init = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "fleetdeck-ui" },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (options && options.signal) init.signal = options.signal;
    const resp = await fetch("/api/v1" + path, init);
    if (options && options.raw) {
      if (!resp.ok) throw new ApiError(resp.status, await resp.json().catch(() => null));
      return resp;
    }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { message: text.slice(0, 300) }; }
    if (resp.status === 401 && !location.pathname.startsWith("/login")) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  function toast(text, level, hint) {
    const box = $("[data-toasts]");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast " + (level || "");
    el.setAttribute("role", level === "bad" ? "alert" : "status");
    el.textContent = text;
    if (hint) {
      const h = document.createElement("div");
      h.className = "hint";
      h.textContent = hint;
      el.appendChild(h);
    }
    box.appendChild(el);
    setTimeout(() => el.remove(), level === "bad" ? 9000 : 4000);
  }

  function fail(err, what) {
    toast((what ? what + ": " : "") + err.message, "bad", err.hint);
  }

  function confirmDialog(title, text, okLabel) {
    const dlg = $("[data-confirm]");
    if (!dlg || !dlg.showModal) return Promise.resolve(window.confirm(title + "\n" + text));
    $("[data-confirm-title]", dlg).textContent = title;
    $("[data-confirm-text]", dlg).textContent = text || "";
    $("[data-confirm-ok]", dlg).textContent = okLabel || "Confirm";
    return new Promise((resolve) => {
      dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
      dlg.showModal();
      $("[data-confirm-ok]", dlg).focus();
    });
  }

  // ---------------------------------------------------------------- relative times
  function ago(iso) {
    if (!iso) return "never";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m ago";
    if (s < 86400) return Math.floor(s / 3600) + "h ago";
    return Math.floor(s / 86400) + "d ago";
  }
  function refreshTimes(root) {
    $$("time[data-ago]", root).forEach((t) => { t.textContent = ago(t.getAttribute("datetime")); });
  }
  setInterval(() => refreshTimes(document), 5000);

  // ---------------------------------------------------------------- live updates (SSE)
  let refreshing = false, again = false;
  async function refreshLive() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      for (const el of $$("[data-live-refresh][data-fragment]")) {
        if (el.closest("[hidden]")) continue;
        const resp = await fetch(el.dataset.fragment, { credentials: "same-origin" });
        if (resp.ok) { el.innerHTML = await resp.text(); refreshTimes(el); }
      }
      const reloads = $$("[data-live-reload]");
      if (reloads.length) {
        const resp = await fetch(location.href, { credentials: "same-origin" });
        if (resp.ok) {
          const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
          const fresh = $$("[data-live-reload]", doc);
          reloads.forEach((el, i) => { if (fresh[i]) { el.innerHTML = fresh[i].innerHTML; refreshTimes(el); } });
        }
      }
      document.dispatchEvent(new CustomEvent("fleet:refreshed"));
    } catch (e) { /* next event retries */ }
    refreshing = false;
    if (again) { again = false; refreshLive(); }
  }

  // Parts that change without an inventory change (the dashboard's node figures and firing
  // alerts) also refresh every data-refresh-every seconds while the tab is visible.
  function startPeriodic() {
    const every = Math.min(...$$("[data-refresh-every]").map((el) => Number(el.dataset.refreshEvery) || Infinity));
    if (!Number.isFinite(every)) return;
    setInterval(() => { if (!document.hidden) refreshLive(); }, Math.max(5, every) * 1000);
  }

  function startLive() {
    const badge = $("[data-live]");
    if (!badge || !window.EventSource) return;
    const es = new EventSource("/api/v1/events");
    let first = true;
    window.fleetdeckLive = { version: null, events: 0 };
    es.addEventListener("inventory", (ev) => {
      const data = JSON.parse(ev.data);
      window.fleetdeckLive.version = data.version;
      window.fleetdeckLive.events += 1;
      document.dispatchEvent(new CustomEvent("fleet:changed", { detail: data }));
      if (!first) refreshLive();
      first = false;
    });
    es.onopen = () => { badge.className = "live on"; badge.title = "Live updates: connected"; };
    es.onerror = () => { badge.className = "live off"; badge.title = "Live updates: reconnecting…"; first = false; };
  }

  // ---------------------------------------------------------------- container actions
  const DESTRUCTIVE = { stop: "Stop", kill: "Kill", remove: "Remove", restart: "Restart" };

  async function containerAction(action, ref, quiet) {
    if (action === "remove") {
      await api("DELETE", "/containers/" + ref + "?force=1");
    } else {
      return api("POST", "/containers/" + ref + "/" + action);
    }
    return null;
  }

  async function onActionClick(btn) {
    const action = btn.dataset.action, ref = btn.dataset.ref;
    if (DESTRUCTIVE[action]) {
      const ok = await confirmDialog(`${DESTRUCTIVE[action]} ${ref}?`,
        action === "remove" ? "The container is deleted (forced if running). This cannot be undone." :
        "The container's processes are interrupted.", DESTRUCTIVE[action]);
      if (!ok) return;
    }
    btn.disabled = true; btn.classList.add("busy");
    try {
      const result = await containerAction(action, ref);
      const state = result && result.container ? " — now " + result.container.state : "";
      toast(`${action} ${ref}: done${state}`, "ok");
      if (action === "remove" && document.querySelector("[data-container-page]")) location.href = "/containers";
      else refreshLive();
    } catch (err) {
      fail(err, `${action} ${ref}`);
    } finally {
      btn.disabled = false; btn.classList.remove("busy");
      document.dispatchEvent(new CustomEvent("fleet:refreshed"));
    }
  }

  // ---------------------------------------------------------------- shared page helpers
  // Read an NDJSON response body as it streams: onObject for each parsed line, then
  // onChunk (optional) once per chunk received, to render a batch at a time.
  async function readNdjson(resp, onObject, onChunk) {
    const reader = resp.body.getReader(), decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      const parts = buf.split("\n");
      buf = parts.pop();
      parts.forEach((p) => { if (p.trim()) onObject(JSON.parse(p)); });
      if (onChunk) onChunk();
    }
    if (buf.trim()) onObject(JSON.parse(buf));
  }

  // ARIA tabs inside root: click or arrow keys select one and show its panel only.
  function setupTabs(root, onShown) {
    const tabs = $$("[role=tab]", root);
    function select(tab) {
      tabs.forEach((t) => {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      });
      onShown(tab.dataset.tab);
    }
    tabs.forEach((t, i) => {
      t.addEventListener("click", () => select(t));
      t.addEventListener("keydown", (ev) => {
        const d = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
        if (d) { const n = tabs[(i + d + tabs.length) % tabs.length]; n.focus(); select(n); }
      });
    });
    return select;
  }

  // ---------------------------------------------------------------- charts (stats, history)
  // A <canvas> sized to its box (w × h CSS pixels, or the given fallbacks while it is not laid
  // out) at the screen's pixel ratio, so lines stay sharp: its cleared 2D context drawing in
  // CSS pixels, with w and h.
  function chartCanvas(canvas, width, height) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || width, h = canvas.clientHeight || height;
    canvas.width = w * dpr; canvas.height = h * dpr;
    const ctx = canvas.getContext("2d");
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, w, h);
    return { ctx, w, h };
  }

  // Three grid lines across the chart's width at top, middle and bottom, labelled fmt(max),
  // fmt(max / 2) and fmt(0) in the theme's colours; the muted 11px text style stays set for
  // the caller's own labels.
  function chartGrid(ctx, w, top, bottom, max, fmt) {
    const css = getComputedStyle(document.documentElement);
    ctx.strokeStyle = css.getPropertyValue("--border");
    ctx.fillStyle = css.getPropertyValue("--muted");
    ctx.font = "11px sans-serif";
    ctx.lineWidth = 1;
    for (let g = 0; g <= 2; g++) {
      const y = top + ((bottom - top) * g) / 2;
      ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke();
      ctx.fillText(fmt(max * (1 - g / 2)), 4, y + (g === 2 ? -3 : 11));
    }
  }

  // Bytes in binary units for chart labels: "512 B", "1.5 MiB".
  function bytes(n) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : Math.round(n)) + " " + u[i];
  }

  // ---------------------------------------------------------------- page furniture
  function setupTheme() {
    $$("[data-theme-toggle]").forEach((b) => {
      const label = () => {
        const t = document.documentElement.dataset.theme || "auto";
        b.textContent = "Theme: " + t;
      };
      label();
      b.addEventListener("click", () => {
        const order = ["auto", "light", "dark"];
        const cur = document.documentElement.dataset.theme || "auto";
        const next = order[(order.indexOf(cur) + 1) % order.length];
        if (next === "auto") { delete document.documentElement.dataset.theme; localStorage.removeItem("fleetdeck-theme"); }
        else { document.documentElement.dataset.theme = next; localStorage.setItem("fleetdeck-theme", next); }
        label();
      });
    });
  }

  function setupLogin() {
    const form = $("[data-login]");
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = $("[data-login-error]");
      err.hidden = true;
      const btn = $("button[type=submit]", form);
      btn.disabled = true;
      try {
        await api("POST", "/auth/login", { username: form.username.value, password: form.password.value });
        location.href = form.dataset.next || "/";
      } catch (e) {
        err.textContent = e.message + (e.hint ? " — " + e.hint : "");
        err.hidden = false;
        btn.disabled = false;
        form.password.select();
      }
    });
  }

  function setup() {
    setupTheme();
    setupLogin();
    refreshTimes(document);
    const out = $("[data-logout]");
    if (out) out.addEventListener("click", async () => {
      try { await api("POST", "/auth/logout"); } catch (e) { /* gone already */ }
      location.href = "/login";
    });
    const menu = $("[data-menu-toggle]");
    if (menu) menu.addEventListener("click", () => {
      const nav = $("#nav");
      nav.classList.toggle("open");
      menu.setAttribute("aria-expanded", String(nav.classList.contains("open")));
    });
    document.addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-action]");
      if (btn) { ev.preventDefault(); onActionClick(btn); }
      const copy = ev.target.closest("button[data-copy]");
      if (copy) {
        const text = copy.parentElement.querySelector("pre").textContent;
        navigator.clipboard.writeText(text).then(() => toast("Copied", "ok"), () => toast("Copy failed: select the text and copy it", "bad"));
      }
    });
    startLive();
    startPeriodic();
  }

  window.fleetdeck = { api, toast, fail, confirm: confirmDialog, refreshLive, containerAction, refreshTimes, ApiError, readNdjson, setupTabs,
    chartCanvas, chartGrid, bytes };
  document.addEventListener("DOMContentLoaded", setup);
})();
