// A stack's autoscaled services (Services tab): per policy, a chart of the replicas against
// the metric that decided, over the recorded decisions (our own few canvas lines), and the
// decisions themselves (time, metric values, current → desired, reason).
"use strict";
(function () {
  const fd = window.fleetdeck;
  const S = window.fleetdeckStack;
  const { el, page, state } = S;
  const box = page.querySelector("[data-autoscale]");
  if (!box) return;
  const enc = encodeURIComponent;
  const COLORS = { replicas: "#3b82f6", metric: "#f59e0b" };

  function chart(decisions, metric) {
    const canvas = el("canvas", { width: "640", height: "160", "aria-label": `replicas and ${metric} chart` });
    const points = decisions.slice().reverse();
    const ctx = canvas.getContext && canvas.getContext("2d");
    if (!ctx || points.length === 0) return canvas;
    const W = canvas.width, H = canvas.height, pad = 24;
    const t0 = Date.parse(points[0].at), t1 = Math.max(Date.parse(points[points.length - 1].at), t0 + 1);
    const x = (p) => pad + ((Date.parse(p.at) - t0) / (t1 - t0)) * (W - 2 * pad);
    const topReplicas = Math.max(1, ...points.map((p) => Math.max(p.current, p.desired)));
    const values = points.map((p) => (p.metrics[metric] || {}).value).filter((v) => typeof v === "number");
    const target = (points[points.length - 1].metrics[metric] || {}).target;
    const topMetric = Math.max(1, target || 0, ...values);
    function line(color, yOf, step) {
      ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
      let started = false, lastY = 0;
      points.forEach((p) => {
        const y = yOf(p);
        if (y === null) return;
        if (!started) { ctx.moveTo(x(p), y); started = true; } else { if (step) ctx.lineTo(x(p), lastY); ctx.lineTo(x(p), y); }
        lastY = y;
      });
      ctx.stroke();
    }
    ctx.clearRect(0, 0, W, H);
    if (target) {
      ctx.strokeStyle = COLORS.metric; ctx.setLineDash([4, 4]); ctx.beginPath();
      const ty = H - pad - (target / topMetric) * (H - 2 * pad);
      ctx.moveTo(pad, ty); ctx.lineTo(W - pad, ty); ctx.stroke(); ctx.setLineDash([]);
    }
    line(COLORS.replicas, (p) => H - pad - (p.desired / topReplicas) * (H - 2 * pad), true);
    line(COLORS.metric, (p) => { const v = (p.metrics[metric] || {}).value; return typeof v === "number" ? H - pad - (v / topMetric) * (H - 2 * pad) : null; }, false);
    ctx.fillStyle = "#888"; ctx.font = "11px sans-serif";
    ctx.fillText(`${topReplicas} replicas`, 2, 12); ctx.fillText(`${metric} ${topMetric.toFixed(0)}`, W - 90, 12);
    return canvas;
  }

  function decisionsTable(decisions) {
    const rows = decisions.slice(0, 20).map((d) => el("tr", {},
      el("td", {}, el("time", { datetime: d.at }, d.at.replace("T", " ").slice(0, 19))),
      el("td", { class: "num" }, `${d.current} → ${d.desired}`),
      el("td", {}, d.applied ? "applied" : d.current === d.desired ? "—" : "not applied"),
      el("td", { class: "small" }, Object.entries(d.metrics).map(([k, v]) => `${k} ${v.value ?? "?"} / ${v.target}`).join(", ")),
      el("td", { class: "small" }, d.reason)));
    return el("table", { class: "table decisions" }, el("thead", {}, el("tr", {}, ["Time", "Replicas", "Action", "Metrics", "Reason"].map((h) => el("th", {}, h)))), el("tbody", {}, rows));
  }

  async function load() {
    if (!state.name || !state.managed) { box.replaceChildren(); return; }
    let policies;
    try { policies = (await fd.api("GET", "/autoscale")).filter((p) => p.kind === "stack" && p.target.startsWith(state.name + "/")); }
    catch (err) { box.replaceChildren(el("p", { class: "muted small" }, "autoscaling: " + err.message)); return; }
    const parts = [];
    for (const p of policies) {
      const [, service] = p.target.split("/");
      const decisions = await fd.api("GET", `/autoscale/${enc(state.name)}/${enc(service)}/history?limit=200`);
      const metric = p.cpu != null ? "cpu" : p.memory != null ? "memory" : "prometheus";
      const targets = [p.cpu != null ? `CPU ${p.cpu} %` : "", p.memory != null ? `memory ${p.memory} %` : "", p.prometheus ? `${p.prometheus} → ${p.prometheus_target}` : ""].filter(Boolean).join(", ");
      parts.push(el("section", { class: "autoscale", "data-autoscale-service": service },
        el("h3", {}, `Autoscaling ${service}`),
        el("p", { class: "muted small" }, `${p.min}–${p.max} replicas on ${targets}; scale-down window ${p.scale_down_window_s} s${p.recommend_only ? "; recommend-only" : ""}. `,
          el("span", { style: `color:${COLORS.replicas}` }, "■ replicas"), " ", el("span", { style: `color:${COLORS.metric}` }, `■ ${metric} (dashed: target)`)),
        chart(decisions, metric), el("div", { class: "table-wrap" }, decisionsTable(decisions))));
    }
    box.replaceChildren(...parts);
  }
  const reload = page.querySelector("[data-ps-reload]");
  if (reload) reload.addEventListener("click", load);
  const tab = page.querySelector("#tab-services");
  if (tab) tab.addEventListener("click", load);
  load();
})();
