// Live stats: poll /api/v1/containers/{ref}/stats every 2 s while the tab is open and draw
// CPU, memory, network and disk I/O on <canvas> elements (a few lines of our own, no library).
"use strict";
(function () {
  const fd = window.fleetdeck;
  const page = document.querySelector("[data-container-page]");
  const ref = page.dataset.ref;
  const panel = document.getElementById("panel-stats");
  const INTERVAL_MS = 2000, KEEP = 90, MIN_WINDOW = 30;
  // The smallest full scale of each chart, so that an idle container draws a flat line.
  const FLOOR = { cpu: 1, mem: 1024 * 1024, net: 1024, blk: 1024 };
  const series = { cpu: [[]], mem: [[]], net: [[], []], blk: [[], []] };
  const state = { points: 0, draws: 0, last: null, timer: null, errors: 0 };
  window.fleetdeckStats = state;

  const bytes = fd.bytes;
  const COLORS = ["#3b82f6", "#f59e0b"];

  function draw(name, fmt) {
    const { ctx, w, h } = fd.chartCanvas(panel.querySelector(`[data-chart=${name}]`), 480, 140);
    const lines = series[name];
    let max = 0;
    lines.forEach((s) => s.forEach((v) => { if (v > max) max = v; }));
    max = Math.max(max * 1.15, FLOOR[name]);
    const slots = Math.max(MIN_WINDOW, Math.max(...lines.map((s) => s.length))) - 1;
    fd.chartGrid(ctx, w, 6, h - 6, max, fmt);
    lines.forEach((s, k) => {
      if (s.length < 1) return;
      ctx.strokeStyle = COLORS[k]; ctx.lineWidth = 2;
      ctx.beginPath();
      s.forEach((v, i) => {
        const x = w - (s.length - 1 - i) * (w / slots);
        const y = h - 6 - (v / max) * (h - 12);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      if (s.length === 1) ctx.arc(w - 2, h - 6 - (s[0] / max) * (h - 12), 2, 0, 2 * Math.PI);
      ctx.stroke();
    });
    state.draws += 1;
  }

  function push(name, k, v) {
    const s = series[name][k];
    s.push(v);
    if (s.length > KEEP) s.shift();
  }

  async function sample() {
    const status = panel.querySelector("[data-stats-status]");
    try {
      const s = await fd.api("GET", `/containers/${ref}/stats`);
      const prev = state.last;
      const dt = prev ? Math.max(0.5, (Date.parse(s.time) - Date.parse(prev.time)) / 1000) : null;
      push("cpu", 0, s.cpu_percent);
      push("mem", 0, s.memory_usage);
      if (prev) {
        push("net", 0, Math.max(0, (s.net_rx - prev.net_rx) / dt));
        push("net", 1, Math.max(0, (s.net_tx - prev.net_tx) / dt));
        push("blk", 0, Math.max(0, (s.blk_read - prev.blk_read) / dt));
        push("blk", 1, Math.max(0, (s.blk_write - prev.blk_write) / dt));
      }
      state.last = s;
      state.points += 1;
      const q = (n) => panel.querySelector(`[data-stat=${n}]`);
      q("cpu").textContent = s.cpu_percent.toFixed(1) + " %";
      q("mem").textContent = bytes(s.memory_usage) + (s.memory_limit ? " of " + bytes(s.memory_limit) : "");
      const last = (n, k) => { const a = series[n][k]; return a.length ? a[a.length - 1] : 0; };
      q("net").textContent = `↓ ${bytes(last("net", 0))}/s  ↑ ${bytes(last("net", 1))}/s`;
      q("blk").textContent = `read ${bytes(last("blk", 0))}/s  write ${bytes(last("blk", 1))}/s`;
      draw("cpu", (v) => v.toFixed(1) + "%");
      draw("mem", bytes);
      draw("net", (v) => bytes(v) + "/s");
      draw("blk", (v) => bytes(v) + "/s");
      status.textContent = `${state.points} samples, pids ${s.pids}`;
      state.errors = 0;
    } catch (err) {
      state.errors += 1;
      status.textContent = "error: " + err.message;
    }
  }

  function run() {
    if (state.timer) return;
    sample();
    state.timer = setInterval(() => { if (!panel.hidden && !document.hidden) sample(); }, INTERVAL_MS);
  }
  page.addEventListener("tab:shown", (ev) => { if (ev.detail === "stats") run(); });
  if (!panel.hidden) run();
})();
