// The Updates page: "Check now" through the API (the session cookie, the same checks).
"use strict";
(() => {
  const button = document.querySelector("[data-updates-check]");
  if (!button) return;
  button.addEventListener("click", async () => {
    button.disabled = true;
    fd.toast("Checking every image's registry…", "info");
    try {
      const result = await fd.api("POST", "/updates/check");
      const updated = result.updated.length ? `; updated ${result.updated.join(", ")}` : "";
      fd.toast(`${result.references} image(s) checked with ${result.head_requests} HEAD request(s)${updated}`, "ok");
      location.reload();
    } catch (err) {
      fd.fail(err, "check for updates");
      button.disabled = false;
    }
  });
})();
