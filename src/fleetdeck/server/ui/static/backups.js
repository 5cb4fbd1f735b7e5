// The Backups page: "Back up now" through the API (the session cookie, the same checks).
"use strict";
(() => {
  const form = document.querySelector("[data-backup-create]");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button");
    const target = new FormData(form).get("target");
    button.disabled = true;
    fd.toast(`Backing up to ${target}…`, "info");
    try {
      const run = await fd.api("POST", "/backups", { target });
      fd.toast(`Backup ${run.snapshot} written and verified`, "ok");
      location.reload();
    } catch (err) {
      fd.fail(err, "back up");
      button.disabled = false;
    }
  });
})();
