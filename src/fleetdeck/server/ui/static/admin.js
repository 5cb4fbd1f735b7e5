// Environments: add (shows the ways to start its agent with the join token), new token, remove.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const list = (v) => v.split(",").map((s) => s.trim()).filter(Boolean);

  // The same lines, in the same order, as `fleetdeck env add` prints (server/install/lines.py).
  const WAYS = [
    ["By script (as root, in bash): installs a systemd service from this server", ["install_command"]],
    ["As a container", ["image_load_command", "docker_command"]],
    ["By hand (fleetdeck installed on the host)", ["agent_command"]],
    ["To remove a script install later", ["uninstall_command"]],
  ];

  function copybox(text) {
    const box = document.createElement("div");
    box.className = "copybox";
    const pre = document.createElement("pre");
    pre.className = "mono";
    pre.textContent = text;
    const btn = document.createElement("button");
    btn.className = "btn small";
    btn.type = "button";
    btn.dataset.copy = "";
    btn.textContent = "Copy";
    box.append(pre, btn);
    return box;
  }

  function showCommand(result) {
    const box = document.querySelector("[data-env-command]");
    if (!box) return;
    box.hidden = false;
    const lines = box.querySelector("[data-env-lines]");
    lines.replaceChildren();
    for (const [title, keys] of WAYS) {
      const texts = keys.map((k) => result[k]).filter(Boolean);
      if (!texts.length) continue;
      const h = document.createElement("h3");
      h.textContent = title;
      lines.append(h, ...texts.map(copybox));
    }
    if (!lines.children.length) lines.textContent = "(local environment: no agent to run)";
    const mins = Math.round((result.expires_in_seconds || 0) / 60);
    box.querySelector("[data-env-expiry]").textContent = mins ? mins + " minutes" : "—";
    box.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  const add = document.querySelector("[data-env-add]");
  if (add) add.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const btn = add.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      const result = await fd.api("POST", "/environments", {
        name: add.name.value.trim(), tags: list(add.tags.value), groups: list(add.groups.value),
      });
      fd.toast(`Environment ${result.environment.name} added`, "ok");
      showCommand(result);
      add.reset();
      fd.refreshLive();
    } catch (err) { fd.fail(err, "add environment"); }
    btn.disabled = false;
  });

  // "Upgrade agents": POST /agents/upgrade, its NDJSON progress shown line by line.
  const upgrade = document.querySelector("[data-agents-upgrade]");
  if (upgrade) {
    const log = upgrade.querySelector("[data-upgrade-log]");
    const say = (text, cls) => {
      const li = document.createElement("li");
      li.textContent = text;
      if (cls) li.className = cls;
      log.appendChild(li);
    };
    upgrade.addEventListener("click", async (ev) => {
      const btn = ev.target.closest("[data-upgrade-run]");
      if (!btn) return;
      const dry = btn.dataset.upgradeRun === "dry";
      if (!dry) {
        const ok = await fd.confirm("Upgrade every agent to this server's build?",
          "One host at a time; a host whose new agent does not come back is put back on its old one.", "Upgrade");
        if (!ok) return;
      }
      const buttons = upgrade.querySelectorAll("button");
      buttons.forEach((b) => { b.disabled = true; });
      log.textContent = "";
      const timeout = Number(upgrade.querySelector("[name=timeout]").value) || 120;
      try {
        const resp = await fd.api("POST", "/agents/upgrade",
          { environments: [], dry_run: dry, timeout_seconds: timeout }, { raw: true });
        await fd.readNdjson(resp, (e) => {
          if (e.error) { say(e.message || e.error, "bad"); return; }
          if (e.event === "plan") {
            say(`Target build ${e.target}`);
            (e.nodes || []).forEach((n) => say(`${n.environment}/${n.node}: ${n.from_version || "?"} — ${n.state}${n.message ? ": " + n.message : ""}`));
          } else if (e.event === "step") {
            const s = e.step;
            const bad = s.state === "undone" || s.state === "failed";
            say(`${s.environment}/${s.node}: ${s.state}${s.mode ? " (" + s.mode + ")" : ""}${s.message ? ": " + s.message : ""}`, bad ? "bad" : "");
          } else if (e.event === "done" && !dry) {
            say(`Moved ${e.moved}, undone ${e.undone}, failed ${e.failed}`, e.undone || e.failed ? "bad" : "ok");
            fd.refreshLive();
          }
        });
      } catch (err) { fd.fail(err, "upgrade agents"); }
      buttons.forEach((b) => { b.disabled = false; });
    });
  }

  document.addEventListener("click", async (ev) => {
    const rm = ev.target.closest("[data-env-remove]");
    if (rm) {
      const name = rm.dataset.envRemove;
      const ok = await fd.confirm(`Remove environment ${name}?`,
        "Its agents' certificates are revoked and they forget their credentials. Containers keep running on the hosts.", "Remove");
      if (!ok) return;
      try {
        await fd.api("DELETE", "/environments/" + encodeURIComponent(name));
        fd.toast(`Environment ${name} removed`, "ok");
        if (rm.dataset.after) location.href = rm.dataset.after; else location.reload();
      } catch (err) { fd.fail(err, "remove " + name); }
    }
    const tok = ev.target.closest("[data-env-token]");
    if (tok) {
      try { showCommand(await fd.api("POST", `/environments/${encodeURIComponent(tok.dataset.envToken)}/join-tokens`)); }
      catch (err) { fd.fail(err, "new join token"); }
    }
  });
})();
