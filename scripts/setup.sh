#!/usr/bin/env bash
# Everything fleetdeck needs on a fresh Debian/Ubuntu machine, done idempotently:
# system packages, a Python virtualenv with the locked dependencies, and a reachable Docker
# engine. Sourced by scripts/run and scripts/test; safe to run again (it skips what is done).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${FLEETDECK_STATE_DIR:-$ROOT/.state}"
UV_VERSION="0.13.9"
# docker-compose (Debian's 1.29.2): the anchor of bench/stacks_bench.py and the project the adoption test adopts.
# faketime: scripts/test runs the unit tests again with the clock a year ahead.
# systemd: its systemd-analyze checks the units of deploy/systemd/ (tests/unit/test_systemd_units.py).
# wget: the lab's seed images carry GNU wget (gnu-wget), copied from the host's package.
# debootstrap: the lab's stand-in for an official Python base image (src/fleetdeck/lab/debian_base.py).
# caddy, nginx: the reverse proxies the proxy tests put in front of the server (docs/deploy/).
# nginx + fcgiwrap + git, openssh-server: the lab's Git server and SFTP backup target.
# prometheus: the autoscaler's external-metric source; restic: the backup tool.
APT_PACKAGES=(docker.io docker-registry busybox-static wget iproute2 iptables util-linux python3 python3-venv ca-certificates
  chromium docker-compose faketime systemd debootstrap caddy nginx fcgiwrap git openssh-server prometheus restic)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

mkdir -p "$STATE"

# --- system packages ------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# node/npm may come from elsewhere than Debian (e.g. nodesource's nodejs bundles npm): look for
# the commands, and only when npm is missing ask apt for Debian's nodejs + npm.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  [[ $(id -u) -eq 0 ]] || die "missing packages: ${missing[*]} — run this as root (or: sudo apt-get install -y ${missing[*]})"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # Servers among them (nginx, caddy, sshd, prometheus) must not start on install: the tests
  # run their own instances on lab addresses. policy-rc.d (exit 101) tells invoke-rc.d "no".
  policy=/usr/sbin/policy-rc.d made_policy=""
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1; fi
  apt_ok=1
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || apt_ok=""
  [[ -z $made_policy ]] || rm -f "$policy"
  [[ -n $apt_ok ]] || die "apt-get install ${missing[*]} failed"
fi

# --- python: uv in its own small venv, then the project's locked environment ----------------
PY="$(command -v python3)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python >= 3.11 is needed (found $("$PY" -V))"
if [[ ! -x "$STATE/uv/bin/uv" ]] || [[ "$("$STATE/uv/bin/uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]]; then
  say "installing uv $UV_VERSION"
  rm -rf "$STATE/uv"
  "$PY" -m venv "$STATE/uv"
  "$STATE/uv/bin/pip" install -q "uv==$UV_VERSION"
fi
export PATH="$STATE/uv/bin:$PATH"
export UV_PYTHON="$PY" UV_PYTHON_DOWNLOADS=never
# Compiled bytecode: the environment may set PYTHONDONTWRITEBYTECODE=1, and then every start
# of the CLI, server or agent recompiles every module it imports (seen: a server start of 45 s
# on a loaded 2-core machine, past the lab's ready timeout). uv compiles the dependencies; the
# project's own sources (an editable install) are compiled here, cheaply, every time.
(cd "$ROOT" && uv sync --locked --all-extras --quiet --compile-bytecode)
"$ROOT/.venv/bin/python" -m compileall -q -j 0 "$ROOT/src" >/dev/null
export PATH="$ROOT/.venv/bin:$PATH"

# --- the web UI's front-end files (xterm.js), pinned in package-lock.json ----------------------
# The server serves them from node_modules/ (no CDN); npm ci again only when the lock changed.
if [[ -f "$ROOT/package-lock.json" ]] && { [[ ! -d "$ROOT/node_modules" ]] || [[ "$ROOT/package-lock.json" -nt "$ROOT/node_modules" ]]; }; then
  say "installing the web UI's front-end packages (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed: run it in $ROOT to see why"
  touch "$ROOT/node_modules"
fi

# --- a Docker engine --------------------------------------------------------------------------
if ! docker version >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] || die "no Docker engine is reachable and starting one needs root"
  say "no Docker engine reachable: starting dockerd with its state in $STATE/docker"
  mkdir -p "$STATE/docker"
  setsid -f dockerd --data-root "$STATE/docker/data" --exec-root /run/fleetdeck-docker \
    --pidfile /run/fleetdeck-docker.pid --host unix:///var/run/docker.sock \
    >>"$STATE/docker/dockerd.log" 2>&1 </dev/null
  for _ in $(seq 1 150); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
  docker version >/dev/null 2>&1 || die "dockerd did not start: see $STATE/docker/dockerd.log"
fi
