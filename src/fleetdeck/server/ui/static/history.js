// Metrics history charts: every [data-history] section queries /api/v1/metrics/query for its
// target(s) over the picked range (15 min … 30 days) and draws lines on <canvas> (our own few
// lines, no library). The server picks raw / 1-minute / 1-hour data from the range; the
// caption says which. Charts redraw every 30 s while the page is visible.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const RANGES = [["15m", 900], ["1h", 3600], ["6h", 21600], ["24h", 86400], ["7d", 604800], ["30d", 2592000]];
  const COLORS = ["#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16"];
  const REFRESH_MS = 30000;
  const bytes = fd.bytes;
  const FORMAT = {
    "%": (v) => v.toFixed(v < 10 ? 1 : 0) + " %",
    cores: (v) => v.toFixed(v && v < 0.1 ? 3 : 2),
    bytes,
    "bytes/s": (v) => bytes(v) + "/s",
    "": (v) => v.toFixed(2),
  };
  // What each kind of page charts: lines are one query each (a series per instance/target).
  const CHARTS = {
    host: [
      { title: "CPU", unit: "%", ceil: 100, lines: [{ metric: "cpu_percent" }] },
      { title: "Memory used (page cache and ZFS ARC excluded)", unit: "bytes", lines: [{ metric: "memory_used_bytes" }] },
      { title: "Load", unit: "", lines: [{ metric: "load1", label: "1 min" }, { metric: "load15", label: "15 min" }] },
      { title: "Network (all interfaces)", unit: "bytes/s", lines: [{ metric: "net_rx_bytes_per_s", label: "rx", sum: true }, { metric: "net_tx_bytes_per_s", label: "tx", sum: true }] },
      { title: "Filesystems used", unit: "%", ceil: 100, lines: [{ metric: "fs_used_percent" }] },
    ],
    container: [
      { title: "CPU (cores)", unit: "cores", lines: [{ metric: "cpu_cores" }] },
      { title: "Memory working set", unit: "bytes", lines: [{ metric: "memory_working_set_bytes" }] },
      { title: "Network", unit: "bytes/s", lines: [{ metric: "net_rx_bytes_per_s", label: "rx" }, { metric: "net_tx_bytes_per_s", label: "tx" }] },
      { title: "Block I/O", unit: "bytes/s", lines: [{ metric: "blkio_read_bytes_per_s", label: "read" }, { metric: "blkio_write_bytes_per_s", label: "write" }] },
    ],
    fleet: [
      { title: "CPU by node", unit: "%", ceil: 100, lines: [{ metric: "cpu_percent" }] },
      { title: "Memory used by node", unit: "%", ceil: 100, lines: [{ metric: "memory_percent" }] },
    ],
  };

  function picked(section) {
    const stored = localStorage.getItem("fleetdeck.range");
    return section.dataset.range || (RANGES.some((r) => r[0] === stored) ? stored : "1h");
  }

  function build(section) {
    const kind = section.dataset.history;
    const fixed = Boolean(section.dataset.range);
    const head = document.createElement("div");
    head.className = "row wrap history-head";
    const group = document.createElement("div");
    group.className = "seg";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Time range");
    RANGES.forEach(([name]) => {
      const b = document.createElement("button");
      b.type = "button"; b.className = "btn small"; b.textContent = name; b.dataset.rangeValue = name;
      b.addEventListener("click", () => {
        localStorage.setItem("fleetdeck.range", name);
        section.dataset.range = name;
        load(section);
      });
      group.appendChild(b);
    });
    const status = document.createElement("span");
    status.className = "muted small"; status.dataset.historyStatus = "";
    if (fixed) head.append(status); else head.append(group, status);
    const grid = document.createElement("div");
    grid.className = "charts";
    CHARTS[kind].forEach((chart, i) => {
      const fig = document.createElement("figure");
      fig.innerHTML = `<figcaption>${chart.title} <strong data-now></strong></figcaption>` +
        `<canvas data-history-chart="${i}" aria-label="${chart.title} chart"></canvas><div class="legend small" data-legend></div>`;
      grid.appendChild(fig);
    });
    section.append(head, grid);
  }

  function targets(section) {
    return (section.dataset.targets || section.dataset.target || "").split(",").filter(Boolean);
  }

  async function queryLine(target, line, start, end) {
    const q = new URLSearchParams({ target, metric: line.metric, start: start.toISOString(), end: end.toISOString() });
    return fd.api("GET", "/metrics/query?" + q.toString());
  }

  function toLines(results, chart, multi) {
    // results: [{target, line, result}] → [{label, points: [[t, v]]}]
    const out = [];
    results.forEach(({ target, line, result }) => {
      const prefix = multi ? target.split("/").slice(-1)[0] : "";
      if (line.sum) {
        const acc = new Map();
        result.series.forEach((s) => s.points.forEach((p) => {
          const t = Date.parse(p.time); acc.set(t, (acc.get(t) || 0) + p.value);
        }));
        out.push({ label: [prefix, line.label].filter(Boolean).join(" "), points: [...acc.entries()].sort((a, b) => a[0] - b[0]) });
        return;
      }
      result.series.forEach((s) => {
        const label = [prefix, line.label, s.instance].filter(Boolean).join(" ");
        out.push({ label, points: s.points.map((p) => [Date.parse(p.time), p.value]) });
      });
    });
    return out;
  }

  function timeLabel(t, span) {
    const d = new Date(t);
    const hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return span > 86400000 ? d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + hm : hm;
  }

  function draw(canvas, lines, chart, start, end, step) {
    const { ctx, w, h } = fd.chartCanvas(canvas, 480, 160);
    const fmt = FORMAT[chart.unit] || FORMAT[""];
    let max = 0;
    lines.forEach((l) => l.points.forEach(([, v]) => { if (v > max) max = v; }));
    max = chart.ceil && max > chart.ceil * 0.5 ? chart.ceil : Math.max(max * 1.15, 1e-9);
    if (max <= 1e-9) max = chart.unit === "bytes" || chart.unit === "bytes/s" ? 1024 : 1;
    const left = 0, bottom = h - 16, top = 6;
    const x = (t) => left + ((t - start) / (end - start)) * (w - left);
    const y = (v) => bottom - (v / max) * (bottom - top);
    fd.chartGrid(ctx, w, top, bottom, max, fmt);
    const span = end - start;
    [0, 0.5, 1].forEach((f) => {
      const label = timeLabel(start + f * span, span);
      const tw = ctx.measureText(label).width;
      ctx.fillText(label, Math.min(Math.max(f * w - tw / 2, 2), w - tw - 2), h - 3);
    });
    const gap = step * 1000 * 2.5;
    lines.forEach((line, k) => {
      ctx.strokeStyle = COLORS[k % COLORS.length]; ctx.lineWidth = 1.6;
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath();
      const pts = line.points;
      pts.forEach(([t, v], i) => {
        const joined = i > 0 && t - pts[i - 1][0] <= gap;
        if (joined) ctx.lineTo(x(t), y(v)); else ctx.moveTo(x(t), y(v));
        const alone = !joined && !(i + 1 < pts.length && pts[i + 1][0] - t <= gap);
        if (alone) ctx.fillRect(x(t) - 1.5, y(v) - 1.5, 3, 3);  // a point with no neighbour
      });
      ctx.stroke();
    });
    return fmt;
  }

  // A range click, the refresh timer and a tab switch can overlap loads: only the newest of a
  // section draws, so an older range's answer never replaces the one just picked.
  async function load(section) {
    const mine = (section.fdGeneration = (section.fdGeneration || 0) + 1);
    const stale = () => mine !== section.fdGeneration;
    const range = picked(section);
    const seconds = RANGES.find((r) => r[0] === range)[1];
    section.querySelectorAll("[data-range-value]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.rangeValue === range)));
    const status = section.querySelector("[data-history-status]");
    const end = new Date(), start = new Date(end.getTime() - seconds * 1000);
    const list = targets(section);
    const charts = CHARTS[section.dataset.history];
    status.textContent = "loading…";
    try {
      let info = null;
      await Promise.all(charts.map(async (chart, i) => {
        const jobs = [];
        list.forEach((target) => chart.lines.forEach((line) => jobs.push(queryLine(target, line, start, end).then((result) => ({ target, line, result })))));
        const results = await Promise.all(jobs);
        if (stale()) return;
        if (results.length) info = results[0].result;
        const lines = toLines(results, chart, list.length > 1);
        const fig = section.querySelector(`[data-history-chart="${i}"]`).parentElement;
        const step = results.length ? results[0].result.step : 60;
        const fmt = draw(fig.querySelector("canvas"), lines, chart, start.getTime(), end.getTime(), step);
        const newest = lines.length && lines[0].points.length ? lines[0].points[lines[0].points.length - 1][1] : null;
        fig.querySelector("[data-now]").textContent = newest === null ? "no data" : fmt(newest);
        fig.querySelector("[data-legend]").innerHTML = lines.length > 1 ? lines.map((l, k) =>
          `<span><i style="background:${COLORS[k % COLORS.length]}"></i>${l.label.replace(/[<>&]/g, "")}</span>`).join("") : "";
      }));
      if (stale()) return;
      section.dataset.loaded = String(Number(section.dataset.loaded || 0) + 1);
      status.textContent = info ? `${info.resolution} data, a point per ${info.step} s` : "";
    } catch (err) {
      if (!stale()) status.textContent = "error: " + err.message;
    }
  }

  const visible = (el) => !el.closest("[hidden]");
  document.querySelectorAll("[data-history]").forEach((section) => {
    build(section);
    if (visible(section)) load(section);
    setInterval(() => { if (!document.hidden && visible(section)) load(section); }, REFRESH_MS);
  });
  // The container page's History tab: draw once it is shown (a hidden canvas has no size).
  document.querySelectorAll("[data-container-page]").forEach((page) => page.addEventListener("tab:shown", (ev) => {
    if (ev.detail === "history") page.querySelectorAll("[data-history]").forEach(load);
  }));
  window.fleetdeckHistory = { load };
})();
