// The containers table: filters without page reloads, selection kept across live refreshes,
// bulk actions with one confirmation and a per-container result.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const selected = new Set();
  const section = document.querySelector("[data-fragment^='/ui/fragments/containers']");
  const form = document.querySelector("[data-filters]");

  function sync() {
    section.querySelectorAll("[data-select]").forEach((box) => { box.checked = selected.has(box.dataset.select); });
    const count = selected.size;
    const label = document.querySelector("[data-selected-count]");
    if (label) label.textContent = count + " selected";
    document.querySelectorAll("[data-bulk]").forEach((b) => { b.disabled = count === 0; });
    const all = section.querySelector("[data-select-all]");
    const boxes = section.querySelectorAll("[data-select]");
    if (all) all.checked = boxes.length > 0 && Array.from(boxes).every((b) => b.checked);
  }

  async function show(query) {
    history.replaceState(null, "", "/containers" + (query ? "?" + query : ""));
    section.dataset.fragment = "/ui/fragments/containers?" + query;
    const resp = await fetch(section.dataset.fragment, { credentials: "same-origin" });
    if (resp.ok) { section.innerHTML = await resp.text(); fd.refreshTimes(section); sync(); }
  }

  function formQuery() {
    const params = new URLSearchParams(new FormData(form));
    params.set("offset", "0");
    for (const [k, v] of Array.from(params.entries())) if (!v) params.delete(k);
    return params.toString();
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); show(formQuery()); });
  form.querySelectorAll("select").forEach((s) => s.addEventListener("change", () => show(formQuery())));
  let timer = null;
  form.querySelector("[data-search]").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => show(formQuery()), 250);
  });

  section.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[href^='/containers?']");
    if (a) {
      ev.preventDefault();
      const query = a.getAttribute("href").split("?")[1] || "";
      const params = new URLSearchParams(query);
      ["sort", "order", "limit"].forEach((k) => { if (form.elements[k] && params.get(k)) form.elements[k].value = params.get(k); });
      show(query);
    }
  });
  section.addEventListener("change", (ev) => {
    const box = ev.target;
    if (box.matches("[data-select]")) {
      if (box.checked) selected.add(box.dataset.select); else selected.delete(box.dataset.select);
    } else if (box.matches("[data-select-all]")) {
      section.querySelectorAll("[data-select]").forEach((b) => {
        if (box.checked) selected.add(b.dataset.select); else selected.delete(b.dataset.select);
      });
    }
    sync();
  });
  document.addEventListener("fleet:refreshed", sync);

  document.querySelectorAll("[data-bulk]").forEach((btn) => btn.addEventListener("click", async () => {
    const action = btn.dataset.bulk, refs = Array.from(selected);
    if (!refs.length) return;
    if (action !== "start") {
      const ok = await fd.confirm(`${action} ${refs.length} container(s)?`, refs.join(", "), action);
      if (!ok) return;
    }
    btn.disabled = true; btn.classList.add("busy");
    let done = 0;
    const failed = [];
    await Promise.all(refs.map(async (ref) => {
      try { await fd.containerAction(action, ref); done += 1; if (action === "remove") selected.delete(ref); }
      catch (err) { failed.push(`${ref}: ${err.message}`); }
    }));
    btn.classList.remove("busy");
    if (done) fd.toast(`${action}: ${done} of ${refs.length} done`, "ok");
    if (failed.length) fd.toast(`${action} failed for ${failed.length}: ${failed.join("; ")}`, "bad");
    fd.refreshLive();
    sync();
  }));
  sync();
})();
