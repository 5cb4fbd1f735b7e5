// Environments: add (shows the agent command with its join token), new token, remove.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const list = (v) => v.split(",").map((s) => s.trim()).filter(Boolean);

  function showCommand(result) {
    const box = document.querySelector("[data-env-command]");
    if (!box) return;
    box.hidden = false;
    box.querySelector("[data-env-command-text]").textContent = result.agent_command || "(local environment: no agent to run)";
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
