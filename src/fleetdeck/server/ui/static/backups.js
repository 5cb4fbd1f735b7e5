// The Backups page: "Back up now" through the API (the session cookie, the same checks).
"use strict";
(() => {
  // Volume backups: run a policy now; restore a backup into a new volume on its node.
  for (const button of document.querySelectorAll("[data-volume-backup]")) {
    button.addEventListener("click", async () => {
      const policy = button.dataset.volumeBackup;
      button.disabled = true;
      fd.toast(`Backing up the volumes of ${policy}…`, "info");
      try {
        const runs = await fd.api("POST", "/backups/volumes", { policy });
        const bad = runs.filter((r) => r.status !== "ok" || r.restart_error);
        fd.toast(bad.length ? `${bad.length} of ${runs.length} volume(s) need attention` : `${runs.length} volume(s) backed up`, bad.length ? "bad" : "ok");
        location.reload();
      } catch (err) {
        fd.fail(err, "back up");
        button.disabled = false;
      }
    });
  }
  for (const button of document.querySelectorAll("[data-volume-restore]")) {
    button.addEventListener("click", async () => {
      const volume = prompt("Restore into which volume on the same node? (a new name, or the same one once its service is stopped)", `${button.dataset.volume}-restored`);
      if (!volume) return;
      button.disabled = true;
      try {
        const done = await fd.api("POST", "/backups/volumes/restore", { backup: button.dataset.volumeRestore, volume });
        fd.toast(`Snapshot ${done.snapshot} restored into ${done.volume} on ${done.environment}/${done.node}`, "ok");
      } catch (err) {
        fd.fail(err, "restore");
      }
      button.disabled = false;
    });
  }
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
