// The console: xterm.js (served from /vendor, pinned in package-lock.json) connected to
// /api/v1/containers/{ref}/console. Binary frames are terminal bytes; text frames are JSON
// control messages (resize from us; exit or error from the server).
"use strict";
(function () {
  const fd = window.fleetdeck;
  const page = document.querySelector("[data-container-page]");
  const panel = document.getElementById("panel-console");
  if (!page || !panel) return;
  const $ = (s) => panel.querySelector(s);
  const status = $("[data-console-status]");
  const connectBtn = $("[data-console-connect]"), disconnectBtn = $("[data-console-disconnect]");
  if (typeof window.Terminal !== "function") {
    $("[data-console-missing]").hidden = false;
    connectBtn.disabled = true;
    return;
  }
  const term = new window.Terminal({ cursorBlink: true, fontSize: 13, convertEol: false, scrollback: 5000,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace' });
  const fit = window.FitAddon ? new window.FitAddon.FitAddon() : null;
  if (fit) term.loadAddon(fit);
  let opened = false, ws = null;
  const encoder = new TextEncoder();

  // For tests and for people: the terminal's text as shown.
  window.fleetdeckConsole = {
    text() {
      const buf = term.buffer.active, out = [];
      for (let i = 0; i < buf.length; i++) out.push(buf.getLine(i).translateToString(true));
      return out.join("\n");
    },
  };

  function sendSize() {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows }));
  }
  function layout() { if (fit && !panel.hidden) { try { fit.fit(); } catch (e) { /* not visible yet */ } sendSize(); } }
  window.addEventListener("resize", layout);

  function setConnected(on, text) {
    status.textContent = text;
    connectBtn.disabled = on;
    disconnectBtn.disabled = !on;
  }

  function connect() {
    if (!opened) { term.open($("[data-terminal]")); opened = true; }
    layout();
    const params = new URLSearchParams();
    $("[data-console-cmd]").value.trim().split(/\s+/).filter(Boolean).forEach((a) => params.append("cmd", a));
    const user = $("[data-console-user]").value.trim();
    if (user) params.set("user", user);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/api/v1/containers/${page.dataset.ref}/console?${params}`);
    ws.binaryType = "arraybuffer";
    setConnected(true, "connecting…");
    ws.onopen = () => { setConnected(true, "connected"); sendSize(); term.focus(); };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") { term.write(new Uint8Array(ev.data)); return; }
      const msg = JSON.parse(ev.data);
      if (msg.type === "error") { term.write(`\r\n\x1b[31m${msg.message}\x1b[0m\r\n`); fd.toast("console: " + msg.message, "bad"); }
      if (msg.type === "exit") term.write(`\r\n\x1b[90m[process exited with code ${msg.code}]\x1b[0m\r\n`);
    };
    ws.onclose = () => { setConnected(false, "disconnected"); ws = null; };
  }
  term.onData((data) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(data)); });
  connectBtn.addEventListener("click", connect);
  disconnectBtn.addEventListener("click", () => { if (ws) ws.close(); });
  page.addEventListener("tab:shown", (ev) => { if (ev.detail === "console") setTimeout(layout, 0); });
})();
