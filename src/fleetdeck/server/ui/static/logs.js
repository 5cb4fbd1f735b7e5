// The Logs page's live tail: NDJSON from /api/v1/logs/tail (fetch streaming) with the form's filters.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const form = document.querySelector("[data-logs-form]");
  const panel = document.querySelector("[data-tail-panel]");
  const out = document.querySelector("[data-tail]");
  const status = document.querySelector("[data-tail-status]");
  const toggle = document.querySelector("[data-tail-toggle]");
  const MAX_LINES = 5000;
  const FILTERS = ["q", "environment", "node", "container", "stack", "service", "stream"];
  let controller = null;

  function lineNode(h) {
    if (h.dropped) {
      const note = document.createElement("span");
      note.className = "ts";
      note.textContent = `(${h.dropped} lines dropped: this page was too slow)\n`;
      return note;
    }
    const span = document.createElement("span");
    if (h.stream === "stderr") span.className = "err";
    const ts = document.createElement("span");
    ts.className = "ts";
    ts.textContent = `${h.time.replace("T", " ").slice(0, 23)} ${h.environment}/${h.node}/${h.container}  `;
    span.appendChild(ts);
    span.appendChild(document.createTextNode(h.line + "\n"));
    return span;
  }

  function append(batch) {
    const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    batch.forEach((h) => frag.appendChild(lineNode(h)));
    out.appendChild(frag);
    while (out.childNodes.length > MAX_LINES) out.removeChild(out.firstChild);
    if (atEnd) out.scrollTop = out.scrollHeight;
  }

  function stop(text) {
    if (controller) controller.abort();
    controller = null;
    toggle.textContent = "Follow live";
    toggle.setAttribute("aria-pressed", "false");
    status.textContent = text;
  }

  async function follow() {
    const params = new URLSearchParams();
    const data = new FormData(form);
    FILTERS.forEach((name) => { const v = (data.get(name) || "").trim(); if (v) params.set(name, v); });
    params.set("backlog", "20");
    controller = new AbortController();
    panel.hidden = false;
    toggle.textContent = "Stop";
    toggle.setAttribute("aria-pressed", "true");
    status.textContent = "connecting…";
    try {
      const resp = await fd.api("GET", "/logs/tail?" + params, undefined, { raw: true, signal: controller.signal });
      status.textContent = "following " + (params.toString().replace("backlog=20", "").replace(/&$/, "") || "every container");
      const reader = resp.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        const parts = buf.split("\n");
        buf = parts.pop();
        const batch = parts.filter((p) => p.trim()).map((p) => JSON.parse(p));
        if (batch.length) append(batch);
      }
      stop("stream ended");
    } catch (err) {
      if (err.name !== "AbortError") { stop("error: " + err.message); fd.fail(err, "live tail"); }
    }
  }

  toggle.addEventListener("click", () => (controller ? stop("stopped") : follow()));
  document.querySelector("[data-tail-clear]").addEventListener("click", () => { out.textContent = ""; });
})();
