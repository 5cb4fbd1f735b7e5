// The stacks list: managed stacks and discovered (unmanaged) Compose projects / Swarm stacks,
// from GET /api/v1/stacks; refreshed when the fleet changes (SSE) since a stack's status is
// its containers'. Discovered ones link to their page in adopt mode.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const root = document.querySelector("[data-stacks]");
  const canOperate = !!root.dataset.canOperate;
  const envSelect = root.querySelector("[data-stacks-env]");
  const managedSelect = root.querySelector("[data-stacks-managed]");
  const filter = root.querySelector("[data-stacks-filter]");
  const status = root.querySelector("[data-stacks-status]");
  const box = root.querySelector("[data-stacks-table]");
  const enc = encodeURIComponent;
  const STATUS_CLASS = { running: "st-running", partial: "st-created", deploying: "st-created", stopped: "st-exited", failed: "st-dead" };
  let rows = [];

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (k === "class") e.className = v; else e.setAttribute(k, v); });
    children.flat().forEach((c) => e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c))));
    return e;
  }
  const stackHref = (s) => `/stacks/${enc(s.name)}` + (s.managed ? "" : `?environment=${enc(s.environment)}`);

  function shown() {
    const q = filter.value.trim().toLowerCase(), env = envSelect.value, m = managedSelect.value;
    return rows.filter((s) => (!env || s.environment === env) && (!q || s.name.toLowerCase().includes(q)) &&
      (!m || (m === "managed") === s.managed));
  }

  function render() {
    const list = shown();
    status.textContent = `${list.length} of ${rows.length} stacks`;
    if (!list.length) {
      box.replaceChildren(el("p", { class: "empty" }, rows.length ? "No stack matches." :
        "No stacks yet." + (canOperate ? " Create one with “New stack”, or start a Compose project on a host to adopt it." : "")));
      return;
    }
    const head = ["Name", "Environment", "Kind", "Status", "Services", "Revision", "Updated", ""];
    const body = el("tbody");
    list.forEach((s) => {
      const origin = s.managed ? el("span", { class: "badge" }, "managed") :
        el("span", { class: "badge discovered", title: s.made_by ? "made by " + s.made_by : "not deployed by fleetdeck" }, "discovered");
      const actions = el("td", { class: "actions" });
      if (!s.managed && canOperate) actions.append(el("a", { class: "btn small", href: stackHref(s) + "&adopt=1", "data-adopt-link": s.name }, "Adopt…"));
      body.append(el("tr", { "data-stack": s.name, "data-managed": String(s.managed) },
        el("td", { class: "strong" }, el("a", { href: stackHref(s) }, s.name), " ", origin),
        el("td", {}, s.environment), el("td", {}, s.kind),
        el("td", {}, el("span", { class: "state " + (STATUS_CLASS[s.status] || "") }, s.status)),
        el("td", { class: "num" }, String(s.services)),
        el("td", { class: "num" }, s.revision == null ? "—" : String(s.revision)),
        el("td", {}, s.updated_at ? el("time", { datetime: s.updated_at, "data-ago": "" }, s.updated_at) : "—"),
        actions));
    });
    box.replaceChildren(el("table", { class: "table stacks" }, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), body));
    fd.refreshTimes(box);
  }

  async function load() {
    try {
      rows = await fd.api("GET", "/stacks");
      render();
    } catch (err) {
      status.textContent = "could not list stacks: " + err.message;
    }
  }

  [envSelect, managedSelect].forEach((s) => s.addEventListener("change", render));
  filter.addEventListener("input", render);
  root.querySelector("[data-stacks-reload]").addEventListener("click", load);
  let pending = null;
  document.addEventListener("fleet:changed", () => { clearTimeout(pending); pending = setTimeout(load, 300); });
  load();
})();
