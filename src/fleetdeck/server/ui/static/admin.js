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
