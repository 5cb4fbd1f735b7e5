// The Create container form: fill it (Duplicate), read it into a ContainerSpec, post it.
"use strict";
(function () {
  const fd = window.fleetdeck;
  const form = document.querySelector("[data-create-form]");
  if (!form) return;
  const initial = JSON.parse(document.getElementById("create-initial").textContent || "{}");
  const lines = (text) => text.split("\n").map((l) => l.trim()).filter(Boolean);
  const f = form.elements;

  function portText(p) {
    const host = p.host_port === null || p.host_port === undefined ? "" :
      (p.host_ip ? p.host_ip + ":" : "") + p.host_port + ":";
    return host + p.container_port + (p.protocol && p.protocol !== "tcp" ? "/" + p.protocol : "");
  }
  function fill(spec) {
    if (!spec.image) return;
    const target = spec.environment + "/" + spec.node;
    if (Array.from(f.target.options).some((o) => o.value === target)) f.target.value = target;
    f.image.value = spec.image;
    f.name.value = spec.name || "";
    f.restart.value = spec.restart || "no";
    f.networks.value = (spec.network_mode ? [spec.network_mode] : spec.networks || []).join(", ");
    f.entrypoint.value = (spec.entrypoint || []).join("\n");
    f.cmd.value = (spec.cmd || []).join("\n");
    f.env.value = (spec.env || []).join("\n");
    f.ports.value = (spec.ports || []).map(portText).join("\n");
    f.mounts.value = (spec.mounts || []).map((m) => m.source + ":" + m.target + (m.read_only ? ":ro" : "")).join("\n");
    f.labels.value = Object.entries(spec.labels || {}).map(([k, v]) => k + "=" + v).join("\n");
    if (f.privileged) f.privileged.checked = !!spec.privileged;
  }

  function parsePort(text) {
    const [spec, proto] = text.split("/");
    const parts = spec.split(":");
    const num = (s, what) => {
      if (!/^\d+$/.test(s)) throw new Error(`port ${text}: ${what} is not a number`);
      return parseInt(s, 10);
    };
    const port = { container_port: num(parts[parts.length - 1], "the container port"), protocol: proto || "tcp" };
    if (parts.length >= 2) port.host_port = parts[parts.length - 2] === "" ? 0 : num(parts[parts.length - 2], "the host port");
    if (parts.length === 3) port.host_ip = parts[0];
    if (parts.length > 3) throw new Error(`port ${text}: give HOST:CONTAINER`);
    return port;
  }
  function parseMount(text) {
    const parts = text.split(":");
    if (parts.length < 2 || parts.length > 3 || (parts[2] && !["ro", "rw"].includes(parts[2]))) {
      throw new Error(`volume ${text}: give VOLUME:/path or VOLUME:/path:ro`);
    }
    const bind = /^[/.~]/.test(parts[0]);
    return { type: bind ? "bind" : "volume", source: parts[0], target: parts[1], read_only: parts[2] === "ro" };
  }
  function read() {
    const [environment, ...node] = f.target.value.split("/");
    const nets = f.networks.value.split(",").map((s) => s.trim()).filter(Boolean);
    const mode = nets.find((n) => n === "host" || n === "none");
    const labels = {};
    lines(f.labels.value).forEach((l) => { const i = l.indexOf("="); labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? "" : l.slice(i + 1); });
    const spec = {
      image: f.image.value.trim(),
      name: f.name.value.trim() || null,
      env: lines(f.env.value),
      cmd: lines(f.cmd.value).length ? lines(f.cmd.value) : null,
      entrypoint: lines(f.entrypoint.value).length ? lines(f.entrypoint.value) : null,
      ports: lines(f.ports.value).map(parsePort),
      mounts: lines(f.mounts.value).map(parseMount),
      networks: mode ? [] : nets,
      network_mode: mode || null,
      restart: f.restart.value,
      labels,
      pull: f.pull.value,
      privileged: f.privileged ? f.privileged.checked : false,
    };
    if (!spec.image) throw new Error("give an image");
    return { environment, node: node.join("/") || null, spec };
  }

  const error = form.querySelector("[data-create-error]");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    let body;
    try { body = read(); } catch (err) { error.textContent = err.message; return; }
    const button = form.querySelector("[data-create-submit]");
    button.disabled = true; button.classList.add("busy"); button.textContent = "Creating…";
    try {
      const result = await fd.api("POST", "/containers", body);
      const c = result.container;
      fd.toast(`created ${c.environment}/${c.name}`, "ok");
      location.href = `/containers/${c.environment}/${c.node}/${c.name}`;
    } catch (err) {
      error.textContent = err.message + (err.hint ? " — " + err.hint : "");
      button.disabled = false; button.classList.remove("busy"); button.textContent = "Create and start";
    }
  });
  fill(initial);
})();
