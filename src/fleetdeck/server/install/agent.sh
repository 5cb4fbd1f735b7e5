#!/bin/sh
# fleetdeck agent install, served by the fleetdeck server at /install/agent.sh.
#
#   curl -fsS --cacert <(…) https://SERVER/install/agent.sh | sh -s -- --token TOKEN [--port 9001]
#   sh /opt/fleetdeck-agent/agent.sh --uninstall
#   sh /opt/fleetdeck-agent/agent.sh --timeout 120     (upgrade: what `fleetdeck agents upgrade` runs)
#
# Installs the agent from this server alone (its wheelhouse, nothing from the internet) into
# /opt/fleetdeck-agent (a Python venv per release, /opt/fleetdeck-agent/current the one in
# use), writes /etc/systemd/system/fleetdeck-agent.service and /etc/fleetdeck/agent.env,
# enrols with the join token and starts the agent. Everything is checked before anything is
# installed (root, systemd, python3 with venv, Docker, the port, the server's CA against the
# token, the token with the server), each failure is one line, and a failure later on removes
# what this run added. Re-running is harmless: an enrolled agent keeps its identity (the
# token is not used again) and an unchanged release is not reinstalled. Run again when the server
# serves a newer wheelhouse, it is an upgrade: the new release is installed next to the old one,
# and if the new agent does not come back within --timeout seconds the old release is put back
# and started (`fleetdeck agents upgrade` runs it so, from a transient systemd unit).
set -eu

SERVER='@@SERVER@@'
VERSION='@@VERSION@@'
CA_PEM='@@CA_PEM@@'
PREFIX=/opt/fleetdeck-agent
UNIT=/etc/systemd/system/fleetdeck-agent.service
SERVICE=fleetdeck-agent.service
ENV_DIR=/etc/fleetdeck
ENV_FILE=$ENV_DIR/agent.env
STATE_DIR=/var/lib/fleetdeck/agent
PORT=
TOKEN=
ACTION=install
DOCKER=${DOCKER_HOST:-unix:///var/run/docker.sock}
WAIT_S=90

say() { printf 'fleetdeck-agent: %s\n' "$*"; }
fail() { printf 'fleetdeck-agent: error: %s\n' "$*" >&2; exit 1; }
usage() {
  cat <<USAGE
usage: sh -s -- --token TOKEN [--port PORT] [--server URL]   install, enrol and start the agent (port 9001)
       sh -s -- [--timeout SECONDS]                           enrolled already: upgrade it
       sh -s -- --uninstall                                   remove everything it installed
USAGE
}

while [ $# -gt 0 ]; do
  case $1 in
    --token) [ $# -ge 2 ] || fail "--token needs a value"; TOKEN=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || fail "--port needs a value"; PORT=$2; shift 2 ;;
    --server) [ $# -ge 2 ] || fail "--server needs a value"; SERVER=${2%/}; shift 2 ;;
    --timeout) [ $# -ge 2 ] || fail "--timeout needs a value"; WAIT_S=$2; shift 2 ;;
    --uninstall) ACTION=uninstall; shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
done
if [ -z "$PORT" ]; then
  # Re-run (an upgrade) without --port: keep the port the installed unit listens on.
  PORT=$(sed -n 's#^ExecStart=.* --listen [^ ]*:\([0-9][0-9]*\)$#\1#p' "$UNIT" 2>/dev/null | head -n 1)
  PORT=${PORT:-9001}
fi
case $PORT in ''|*[!0-9]*) fail "--port must be a number, not '$PORT'" ;; esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || fail "--port must be 1 to 65535, not $PORT"
case $WAIT_S in ''|*[!0-9]*) fail "--timeout must be a number of seconds, not '$WAIT_S'" ;; esac
[ "$WAIT_S" -ge 5 ] && [ "$WAIT_S" -le 3600 ] || fail "--timeout must be 5 to 3600 seconds, not $WAIT_S"
case $SERVER in https://*) ;; *) fail "--server must be an https:// URL, not '$SERVER'" ;; esac
[ "$(id -u)" = 0 ] || fail "run this as root: it installs a systemd service"

uninstall() {
  if [ -d /run/systemd/system ]; then
    systemctl disable --now "$SERVICE" >/dev/null 2>&1 || true
  fi
  rm -f "$UNIT"
  [ -d /run/systemd/system ] && systemctl daemon-reload >/dev/null 2>&1 || true
  rm -rf "$PREFIX" "$STATE_DIR" "$ENV_FILE" /run/fleetdeck
  rmdir "$ENV_DIR" /var/lib/fleetdeck 2>/dev/null || true
}

if [ "$ACTION" = uninstall ]; then
  uninstall
  say "removed the agent (service, $PREFIX, $ENV_FILE, $STATE_DIR); remove its environment on the server with: fleetdeck env rm ENV"
  exit 0
fi

# ------------------------------------------------------------------ checks (nothing changed)
[ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && [ -d /run/systemd/system ] \
  || fail "systemd is not running as PID 1 on this host: run the agent as a container instead (the docker run line)"
command -v python3 >/dev/null 2>&1 || fail "python3 is missing: install python3 and python3-venv (3.11 or newer)"
python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || fail "python3 3.11 or newer with venv is needed: install python3-venv"
case $DOCKER in
  unix://*) SOCKET=${DOCKER#unix://} ;;
  *) fail "DOCKER_HOST must be unix:///PATH for the agent, not '$DOCKER'" ;;
esac
[ "$(curl -sS --max-time 5 --unix-socket "$SOCKET" http://docker/_ping 2>/dev/null)" = OK ] \
  || fail "no Docker engine answers at $SOCKET: install and start Docker first"

WORK=$(mktemp -d)
ADDED=
OLD_CURRENT=
SWITCHED=
finish() {
  status=$?
  if [ "$status" != 0 ] && { [ -n "$ADDED" ] || [ -n "$SWITCHED" ]; }; then
    systemctl stop "$SERVICE" >/dev/null 2>&1 || true
    # Disabled while its unit file is still there, so no dangling .wants link is left.
    [ -n "$OLD_CURRENT" ] || systemctl disable "$SERVICE" >/dev/null 2>&1 || true
    for path in $ADDED; do rm -rf "$path"; done
    [ ! -f "$WORK/unit.old" ] || install -m 0644 "$WORK/unit.old" "$UNIT"
    systemctl daemon-reload >/dev/null 2>&1 || true
    if [ -n "$OLD_CURRENT" ]; then
      ln -sfn "$OLD_CURRENT" "$PREFIX/current"
      systemctl restart "$SERVICE" >/dev/null 2>&1 || true
    fi
    rmdir "$ENV_DIR" /var/lib/fleetdeck 2>/dev/null || true
    if [ -n "$SWITCHED" ] && [ -n "$OLD_CURRENT" ]; then
      printf 'fleetdeck-agent: undone: %s is running again\n' "$OLD_CURRENT" >&2
    else
      printf 'fleetdeck-agent: nothing was left installed by this run\n' >&2
    fi
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM
printf '%s\n' "$CA_PEM" >"$WORK/ca.pem"
fetch() { curl -fsS --proto '=https' --cacert "$WORK/ca.pem" --max-time 600 -o "$2" "$SERVER$1"; }
json() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); $2" "$WORK/$1"; }

ENROLLED=
if [ -f "$STATE_DIR/agent.pem" ] && [ -f "$STATE_DIR/agent.key" ] && [ -f "$STATE_DIR/ca.pem" ]; then
  ENROLLED=yes
fi
if [ -z "$ENROLLED" ]; then
  [ -n "$TOKEN" ] || fail "--token TOKEN is needed (on the server: fleetdeck env token ENV)"
  case $TOKEN in FDJT-1-*) ;; *) fail "not a fleetdeck join token (it starts with FDJT-1-)" ;; esac
  wanted=${TOKEN#FDJT-1-}
  wanted=${wanted%%-*}
  ours=$(python3 -c 'import hashlib, ssl, sys; print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())).hexdigest())' "$WORK/ca.pem")
  [ "$ours" = "$wanted" ] \
    || fail "this server's CA is not the one the join token names: check the server URL, or get a new token"
fi
if ! systemctl is-active --quiet "$SERVICE"; then
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("0.0.0.0", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$PORT" || fail "port $PORT is in use on this host: the agent listens there (free it, or choose another with --port)"
fi
if [ -z "$ENROLLED" ]; then
  printf '{"join_token": "%s"}' "$TOKEN" >"$WORK/check-body.json"
  code=$(curl -sS --proto '=https' --cacert "$WORK/ca.pem" --max-time 30 -o "$WORK/check.json" \
    -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$WORK/check-body.json" \
    "$SERVER/install/token-check") || fail "cannot reach the fleetdeck server at $SERVER"
  if [ "$code" != 200 ]; then
    reason=$(json check.json 'print(d.get("message") or d)' 2>/dev/null || echo "the server answered $code")
    fail "the join token was refused: $reason"
  fi
fi

# ------------------------------------------------------------------ download and check
fetch /install/manifest.json "$WORK/manifest.json" || fail "the server serves no agent distribution (on the server: fleetdeck server agent-dist)"
mkdir "$WORK/wheels"
json manifest.json 'print("\n".join(f["name"] for f in d["files"]))' >"$WORK/names"
json manifest.json 'print("\n".join(f["sha256"] + "  " + f["name"] for f in d["files"]))' >"$WORK/sums"
VERSION=$(json manifest.json 'print(d["version"])')
while read -r name; do
  case $name in *[!A-Za-z0-9_.+-]*|.*) fail "unexpected file name in the manifest: $name" ;; esac
  fetch "/install/wheels/$name" "$WORK/wheels/$name" || fail "cannot download $name from the server"
done <"$WORK/names"
(cd "$WORK/wheels" && sha256sum --quiet -c "$WORK/sums" >/dev/null 2>&1) \
  || fail "a downloaded wheel does not match the server's manifest"
fetch /install/agent.sh "$WORK/agent.sh" || fail "cannot download the install script"
fetch /install/fleetdeck-agent.service "$WORK/unit" || fail "cannot download the systemd unit"

# ------------------------------------------------------------------ install
RELEASE=$VERSION-$(sha256sum "$WORK/manifest.json" | cut -c1-12)
[ -d "$PREFIX" ] || ADDED="$ADDED $PREFIX"
mkdir -p "$PREFIX/releases"
OLD_CURRENT=$(readlink "$PREFIX/current" 2>/dev/null || true)
if [ ! -f "$PREFIX/releases/$RELEASE/.complete" ]; then
  rm -rf "$PREFIX/releases/$RELEASE"
  ADDED="$ADDED $PREFIX/releases/$RELEASE"
  say "installing fleetdeck $VERSION into $PREFIX"
  python3 -m venv "$PREFIX/releases/$RELEASE" >"$WORK/venv.log" 2>&1 \
    || fail "python3 -m venv failed: $(tail -n 1 "$WORK/venv.log")"
  "$PREFIX/releases/$RELEASE/bin/pip" install --quiet --no-index --disable-pip-version-check \
    --find-links "$WORK/wheels" "fleetdeck==$VERSION" >"$WORK/pip.log" 2>&1 \
    || fail "pip could not install the agent from the server's wheelhouse: $(tail -n 1 "$WORK/pip.log")"
  touch "$PREFIX/releases/$RELEASE/.complete"
fi
[ -z "$OLD_CURRENT" ] || [ "$OLD_CURRENT" = "releases/$RELEASE" ] || SWITCHED=yes
ln -sfn "releases/$RELEASE" "$PREFIX/current.new"
mv -T "$PREFIX/current.new" "$PREFIX/current"
install -m 0755 "$WORK/agent.sh" "$PREFIX/agent.sh"

[ -f "$UNIT" ] || ADDED="$ADDED $UNIT"
sed "s#^ExecStart=.*#ExecStart=$PREFIX/current/bin/fleetdeck agent --listen 0.0.0.0:$PORT#" \
  "$WORK/unit" >"$WORK/unit.new"
grep -q "^ExecStart=$PREFIX/current/bin/fleetdeck agent" "$WORK/unit.new" \
  || fail "the server's systemd unit has no ExecStart line"
changed=
cmp -s "$WORK/unit.new" "$UNIT" 2>/dev/null || changed=yes
[ -z "$changed" ] || [ ! -f "$UNIT" ] || cp "$UNIT" "$WORK/unit.old"
install -m 0644 "$WORK/unit.new" "$UNIT"

[ -f "$ENV_FILE" ] || ADDED="$ADDED $ENV_FILE"
write_env() (
  umask 077
  mkdir -p "$ENV_DIR"
  {
    printf 'FLEETDECK_SERVER=%s\n' "$SERVER"
    [ "$DOCKER" = unix:///var/run/docker.sock ] || printf 'DOCKER_HOST=%s\n' "$DOCKER"
    [ -z "${1:-}" ] || printf 'FLEETDECK_JOIN_TOKEN=%s\n' "$1"
  } >"$ENV_FILE.new"
  mv "$ENV_FILE.new" "$ENV_FILE"
)
if [ -z "$ENROLLED" ]; then
  write_env "$TOKEN"
  ADDED="$ADDED $STATE_DIR"
fi
systemctl daemon-reload
systemctl enable --quiet "$SERVICE"
if [ -z "$ENROLLED" ] || [ -n "$changed" ] || [ "$OLD_CURRENT" != "releases/$RELEASE" ] \
  || ! systemctl is-active --quiet "$SERVICE"; then
  systemctl restart "$SERVICE"
fi

# ------------------------------------------------------------------ wait for the agent
last_log() { journalctl -u "$SERVICE" -n 1 -o cat --no-pager 2>/dev/null | tail -n 1; }
restarts() { systemctl show -p NRestarts --value "$SERVICE" 2>/dev/null || echo 0; }
started=$(restarts)
waited=0
until [ -f "$STATE_DIR/agent.pem" ] && python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' "$PORT" 2>/dev/null; do
  waited=$((waited + 1))
  [ "$waited" -le "$WAIT_S" ] || fail "the agent did not start within ${WAIT_S}s: $(last_log)"
  if [ "$(restarts)" != "$started" ] || systemctl is-failed --quiet "$SERVICE"; then
    [ -n "$ENROLLED" ] || fail "the agent did not enrol: $(last_log)"
    fail "the new agent did not start: $(last_log)"
  fi
  sleep 1
done
write_env ""  # enrolled: the single-use token has done its job, keep it off the disk
old=$(ls "$PREFIX/releases")
for release in $old; do
  case "releases/$release" in "$OLD_CURRENT"|"releases/$RELEASE") ;; *) rm -rf "$PREFIX/releases/$release" ;; esac
done
ADDED=
SWITCHED=
where=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(str(d.get("environment")) + "/" + str(d.get("node")))' "$STATE_DIR/enrolment.json" 2>/dev/null || echo "?")
if [ -n "$ENROLLED" ]; then
  say "already enrolled as $where: kept its identity (the token was not used); fleetdeck $VERSION running"
else
  say "installed and enrolled as $where: fleetdeck $VERSION running as $SERVICE, port $PORT"
fi
say "uninstall with: sh $PREFIX/agent.sh --uninstall"
