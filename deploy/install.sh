#!/usr/bin/env bash
# Install Swarm on a Debian host under systemd, from the tarball `npm run release` makes
# (release/swarm-<version>.tar.gz). Idempotent: running it twice with the same arguments changes nothing.
# docs/install.md walks through it; `install.sh --help` lists the options.
set -euo pipefail
umask 022

PROG=install.sh
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
UNITS_SRC="$HERE/systemd"
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19

usage() {
  cat <<'EOF'
Usage: install.sh --role host|controller --tarball FILE [options]

Installs Swarm from the release tarball `npm run release` makes (release/swarm-<version>.tar.gz):
users (systemd-sysusers), directories (systemd-tmpfiles), the packaged code in /usr/lib/swarm/current,
the systemd units, and for a sensor host the polkit rule and the first agent release in /opt/swarm.
Run it again with the same arguments: it changes nothing that is already right.

Roles:
  host         swarm-updater.service + swarm-agent.service (a sensor host)
  controller   swarm-controller.service (state in /var/lib/swarm)

Options:
  --role ROLE              host or controller (required)
  --tarball FILE           release/swarm-<version>.tar.gz from `npm run release` (required)
  --controller URL         host: the controller the updater and agent dial (https://NAME:8770)
  --ca-hash sha256:HEX     host: the CA hash `swarmctl host add` printed (with --token-file)
  --token-file FILE|-      host: enroll now with this join token (- reads standard input); skipped when
                           the host already has an identity (the token is then not spent)
  --cluster NAME           controller: run `swarm-controller init` when /var/lib/swarm is not initialised
  --san DNS_OR_IP          controller: a name hosts dial the controller by (repeat; with --cluster)
  --no-start               install and enable, but start nothing
  --root DIR               install into DIR instead of / (image builds, tests): no systemctl, no join,
                           no init, and neither root nor a running systemd is required
  -h, --help               this text

Exit codes: 0 done, 1 a step failed, 2 refused (bad usage or a missing precondition; nothing changed).
Example:
  sudo ./deploy/install.sh --role host --tarball swarm-0.1.0.tar.gz --controller https://ctl.example.net:8770 \
       --ca-hash sha256:HEX --token-file /root/sensor-17.token
EOF
}

# One line naming what is wrong and what to do; exit 2 (refused: nothing was changed).
refuse() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 2; }
fail() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
say() { printf '%s: %s\n' "$PROG" "$*"; }

ROLE='' TARBALL='' CONTROLLER='' CA_HASH='' TOKEN_FILE='' CLUSTER='' ROOT='' START=1
SANS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --role|--tarball|--controller|--ca-hash|--token-file|--cluster|--san|--root)
      [ $# -ge 2 ] || refuse "$1 needs a value (see --help)"
      case "$1" in
        --role) ROLE=$2 ;; --tarball) TARBALL=$2 ;; --controller) CONTROLLER=$2 ;; --ca-hash) CA_HASH=$2 ;;
        --token-file) TOKEN_FILE=$2 ;; --cluster) CLUSTER=$2 ;; --san) SANS+=("$2") ;; --root) ROOT=$2 ;;
      esac
      shift 2 ;;
    --no-start) START=0; shift ;;
    *) refuse "unknown argument '$1' (see --help)" ;;
  esac
done

# --- Refusals first: nothing is touched before every precondition holds. ---
case "$ROLE" in
  host|controller) ;;
  '') refuse "--role is required: --role host (updater + agent) or --role controller" ;;
  *) refuse "--role must be host or controller, not '$ROLE'" ;;
esac
[ -n "$TARBALL" ] || refuse "--tarball is required: the release/swarm-<version>.tar.gz that 'npm run release' builds"
[ -f "$TARBALL" ] || refuse "tarball $TARBALL does not exist; build it with 'npm run release' (release/swarm-<version>.tar.gz) and pass its path"
[ -r "$TARBALL" ] || refuse "tarball $TARBALL is not readable; check its permissions"
if [ -n "$ROOT" ]; then
  [ -d "$ROOT" ] || refuse "--root $ROOT is not a directory; create it first"
  ROOT=$(CDPATH= cd -- "$ROOT" && pwd)
  [ "$ROOT" != / ] || ROOT=''
fi
if [ -z "$ROOT" ]; then
  [ "$(id -u)" = 0 ] || refuse "must run as root (it creates users, /etc/swarm and systemd units): run it with sudo"
  [ -d /run/systemd/system ] || refuse "systemd is not running on this host (/run/systemd/system is missing); Swarm's units need systemd as PID 1 (without it run swarm-updater in spawn mode, see docs/updater.md)"
fi
for tool in tar gzip sha256sum systemd-sysusers systemd-tmpfiles; do
  command -v "$tool" >/dev/null 2>&1 || refuse "$tool is missing; install it (apt-get install systemd tar gzip coreutils)"
done
if [ "$ROLE" = host ]; then
  [ -z "$CLUSTER" ] && [ ${#SANS[@]} -eq 0 ] || refuse "--cluster and --san are for --role controller"
  if [ -n "$TOKEN_FILE" ]; then
    [ -n "$CONTROLLER" ] && [ -n "$CA_HASH" ] || refuse "--token-file needs --controller URL and --ca-hash sha256:HEX (both printed by swarmctl host add)"
    [ "$TOKEN_FILE" = - ] || [ -r "$TOKEN_FILE" ] || refuse "token file $TOKEN_FILE cannot be read; pass the file holding the token from swarmctl host add (or - for stdin)"
  fi
else
  [ -z "$TOKEN_FILE" ] && [ -z "$CA_HASH" ] && [ -z "$CONTROLLER" ] || refuse "--controller, --ca-hash and --token-file are for --role host"
  [ ${#SANS[@]} -eq 0 ] || [ -n "$CLUSTER" ] || refuse "--san is used by init: give --cluster NAME too"
fi
case "$CONTROLLER" in ''|https://*) ;; *) refuse "--controller must be an https:// URL (https://NAME:8770), not '$CONTROLLER'" ;; esac

# Node: the units run /usr/bin/node (a stable path; PATH is not a unit's business).
NODE=/usr/bin/node
if [ -z "$ROOT" ]; then
  [ -x "$NODE" ] || refuse "$NODE is missing; install Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR there (Debian 12's nodejs is 18: use NodeSource's nodejs_20.x)"
  nv=$("$NODE" -p 'process.versions.node' 2>/dev/null) || refuse "$NODE does not run; reinstall Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR"
  major=${nv%%.*} rest=${nv#*.} minor=${rest%%.*}
  if [ "$major" -lt "$NODE_MIN_MAJOR" ] || { [ "$major" -eq "$NODE_MIN_MAJOR" ] && [ "$minor" -lt "$NODE_MIN_MINOR" ]; }; then
    refuse "$NODE is Node.js $nv; Swarm needs >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR (NodeSource's nodejs_20.x or later)"
  fi
  JSON_NODE=$NODE
else
  JSON_NODE=$(command -v node) || refuse "node is needed to read the release manifest; put Node.js on PATH"
fi
if [ "$ROLE" = host ] && [ -z "$ROOT" ]; then
  [ -d /usr/share/polkit-1 ] && command -v pkaction >/dev/null 2>&1 \
    || refuse "polkit is missing; install it (apt-get install polkitd): it lets the updater restart swarm-agent.service"
fi

# The tarball: a gzip'd tar with the Swarm layout, no absolute or .. paths.
LISTING=$(tar -tzf "$TARBALL" 2>/dev/null) || refuse "$TARBALL is not a gzip'd tar (corrupt or truncated download?); rebuild it with 'npm run release'"
if grep -Eq '^/|(^|/)\.\.(/|$)' <<<"$LISTING"; then
  refuse "$TARBALL holds absolute or '..' paths; it is not a Swarm release: rebuild it with 'npm run release'"
fi
for need in swarm-release.json bin/swarm-agent dist/agent/main.js dist/updater/main.js dist/controller/main.js dist/cli/main.js package.json; do
  grep -Fxq -- "$need" <<<"$LISTING" || refuse "$TARBALL has no $need; it is not a Swarm release from 'npm run release' (swarmctl release build makes payload releases: send those with swarmctl rollout)"
done
VERSION=$(tar -xzOf "$TARBALL" swarm-release.json | "$JSON_NODE" -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    try {
      const m = JSON.parse(s);
      const ok = typeof m.version === "string" && /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/.test(m.version)
        && Array.isArray(m.entrypoint) && m.entrypoint[0] === "bin/swarm-agent";
      if (!ok) process.exit(3);
      process.stdout.write(m.version);
    } catch { process.exit(3); }
  });') || refuse "$TARBALL has an invalid swarm-release.json (no version, or an entrypoint other than bin/swarm-agent); rebuild it with 'npm run release'"
ID=$(sha256sum < "$TARBALL" | cut -d' ' -f1)
DIR_NAME="$VERSION-${ID:0:12}"

# --- Paths (under --root when given). ---
R=$ROOT
LIB=$R/usr/lib/swarm
PKI=$R/etc/swarm/pki
INSTALL=$R/opt/swarm
UNIT_DIR=$R/etc/systemd/system
CHANGED_CODE=0

uid_of() { awk -F: -v n="$1" '$1 == n { print $3; f = 1 } END { exit !f }' "$R/etc/passwd"; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3; f = 1 } END { exit !f }' "$R/etc/group"; }
# Copy a file into place only when its content or mode differ: a second run rewrites nothing.
put() { # put MODE SRC DEST
  if [ -f "$3" ] && cmp -s "$2" "$3" && [ "$(stat -c %a "$3")" = "${1#0}" ]; then return 1; fi
  install -D -m "$1" "$2" "$3"
  return 0
}
# Extract the tarball into DEST (absent) through a hidden temp dir and one rename: never a half tree.
extract_to() { # extract_to DEST OWNER(uid:gid or '')
  local dest=$1 tmp
  tmp="$(dirname "$dest")/.install-$(basename "$dest").$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  tar -xzf "$TARBALL" -C "$tmp" --no-same-owner --no-same-permissions
  # Modes from the archive, less group/other write (umask 022): release files are never writable by others.
  chmod -R go-w "$tmp"
  if [ -n "${2:-}" ]; then chown -R "$2" "$tmp"; fi
  chmod 0755 "$tmp"
  mv -T "$tmp" "$dest"
}
# Older packaged versions, once nothing runs them: called after the services were restarted on current (a running
# process still imports lazily from the version it started on).
remove_old_code() {
  local old
  for old in "$LIB"/*; do
    if [ -d "$old" ] && [ ! -L "$old" ] && [ "$(basename "$old")" != "$DIR_NAME" ]; then
      rm -rf "$old"
      say "removed the packaged code ${old#"$R"}"
    fi
  done
}
# Point LINK at TARGET (relative) by rename(2), as the updater does.
point() { # point LINK TARGET
  if [ "$(readlink "$1" 2>/dev/null || true)" = "$2" ]; then return 1; fi
  ln -sfn "$2" "$1.new.$$"
  mv -T "$1.new.$$" "$1"
  return 0
}

# --- Users and directories. ---
put 0644 "$UNITS_SRC/sysusers-swarm.conf" "$R/usr/lib/sysusers.d/swarm.conf" || true
put 0644 "$UNITS_SRC/tmpfiles-swarm.conf" "$R/usr/lib/tmpfiles.d/swarm.conf" || true
mkdir -p "$R/etc"
if [ -n "$R" ]; then
  touch "$R/etc/passwd" "$R/etc/group"
  systemd-sysusers --root="$R" "$R/usr/lib/sysusers.d/swarm.conf" >/dev/null
  systemd-tmpfiles --root="$R" --create "$R/usr/lib/tmpfiles.d/swarm.conf"
else
  systemd-sysusers /usr/lib/sysusers.d/swarm.conf >/dev/null
  systemd-tmpfiles --create /usr/lib/tmpfiles.d/swarm.conf
fi
for user in swarm swarm-agent; do
  uid_of "$user" >/dev/null && gid_of "$user" >/dev/null || fail "user $user was not created; check systemd-sysusers' output above"
done
SWARM_IDS="$(uid_of swarm):$(gid_of swarm)"
AGENT_IDS="$(uid_of swarm-agent):$(gid_of swarm-agent)"

# --- The packaged code: root-owned, read-only to every unit (ProtectSystem=strict), never self-updated. ---
mkdir -p "$LIB"
if [ ! -f "$LIB/$DIR_NAME/swarm-release.json" ]; then
  rm -rf "${LIB:?}/$DIR_NAME"
  extract_to "$LIB/$DIR_NAME" ''
  say "installed the packaged code in ${LIB#"$R"}/$DIR_NAME"
fi
if point "$LIB/current" "$DIR_NAME"; then CHANGED_CODE=1; fi
for bin in swarmctl swarm-updater swarm-controller; do
  put 0755 "$HERE/bin/$bin" "$R/usr/local/bin/$bin" || true
done

# --- Units. ---
CHANGED_UNITS=()
if [ "$ROLE" = host ]; then UNITS=(swarm-agent.service swarm-updater.service); else UNITS=(swarm-controller.service); fi
for u in "${UNITS[@]}"; do
  if put 0644 "$UNITS_SRC/$u" "$UNIT_DIR/$u"; then CHANGED_UNITS+=("$u"); fi
done

if [ "$ROLE" = host ]; then
  put 0644 "$UNITS_SRC/50-swarm.rules" "$R/etc/polkit-1/rules.d/50-swarm.rules" || true

  # The first agent release, as the updater would have installed it (sidecar; owned by swarm so it can prune it),
  # and active on it. Only on a first install: afterwards the updater owns releases/ and the links (rollouts).
  if [ ! -e "$INSTALL/active" ] && [ ! -L "$INSTALL/active" ]; then
    if [ ! -f "$INSTALL/releases/$DIR_NAME/.swarm-release.json" ]; then
      rm -rf "${INSTALL:?}/releases/$DIR_NAME"
      sidecar=$(mktemp)
      printf '{"id":"%s","version":"%s","installedAt":"%s"}\n' "$ID" "$VERSION" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" > "$sidecar"
      tmpdest="$INSTALL/releases/.install-sidecar.$$"
      extract_to "$tmpdest" "$SWARM_IDS"
      install -m 0644 -o "${SWARM_IDS%:*}" -g "${SWARM_IDS#*:}" "$sidecar" "$tmpdest/.swarm-release.json"
      rm -f "$sidecar"
      mv -T "$tmpdest" "$INSTALL/releases/$DIR_NAME"
      say "installed release $DIR_NAME in ${INSTALL#"$R"}/releases"
    fi
    point "$INSTALL/active" "releases/$DIR_NAME" && chown -h "$SWARM_IDS" "$INSTALL/active"
    say "active -> releases/$DIR_NAME"
  elif [ "$(readlink "$INSTALL/active")" != "releases/$DIR_NAME" ]; then
    say "active stays on $(readlink "$INSTALL/active"): agent releases go out with swarmctl release upload + rollout start"
  fi

  # Settings: written once, then the operator's; --controller updates the controller URL in both.
  if [ ! -f "$R/etc/swarm/agent.env" ]; then
    install -m 0644 "$UNITS_SRC/agent.env" "$R/etc/swarm/agent.env"
    [ -n "$CONTROLLER" ] || sed -i 's|^SWARM_CONTROLLER=|#SWARM_CONTROLLER=|' "$R/etc/swarm/agent.env"
  fi
  if [ -n "$CONTROLLER" ] && ! grep -Fxq "SWARM_CONTROLLER=$CONTROLLER" "$R/etc/swarm/agent.env"; then
    sed -i "s|^#\{0,1\}SWARM_CONTROLLER=.*|SWARM_CONTROLLER=$CONTROLLER|" "$R/etc/swarm/agent.env"
  fi
  if [ ! -f "$R/etc/swarm/updater.json" ]; then
    install -m 0644 "$UNITS_SRC/updater.json" "$R/etc/swarm/updater.json"
    [ -n "$CONTROLLER" ] || "$JSON_NODE" -e 'const f = process.argv[1], fs = require("fs"); const c = JSON.parse(fs.readFileSync(f, "utf8")); delete c.controller; fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n");' "$R/etc/swarm/updater.json"
  fi
  if [ -n "$CONTROLLER" ]; then
    "$JSON_NODE" -e 'const [f, url] = process.argv.slice(1), fs = require("fs"); const c = JSON.parse(fs.readFileSync(f, "utf8"));
      if (c.controller !== url) { c.controller = url; fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n"); }' "$R/etc/swarm/updater.json" "$CONTROLLER"
  fi

  # Identity: enroll now when asked and not yet enrolled.
  if [ -n "$TOKEN_FILE" ]; then
    if [ -f "$PKI/updater.crt" ]; then
      say "this host is already enrolled (${PKI#"$R"}/updater.crt): --token-file ignored, the token is not spent"
    elif [ -n "$R" ]; then
      say "--root: not enrolling (join needs the real /etc/swarm/pki); run install.sh without --root on the host"
    else
      joindir=$(mktemp -d /etc/swarm/.join.XXXXXX)
      trap 'rm -rf "$joindir"' EXIT
      "$NODE" /usr/lib/swarm/current/dist/updater/main.js join --controller "$CONTROLLER" --ca-hash "$CA_HASH" \
        --token-file "$TOKEN_FILE" --pki-dir "$joindir" || fail "swarm-updater join failed (its message is above); fix that and run install.sh again"
      mv "$joindir"/agent.key "$joindir"/agent.crt "$PKI/agent/"
      cp "$joindir/ca.crt" "$PKI/agent/ca.crt"
      mv "$joindir"/updater.key "$joindir"/updater.crt "$joindir"/ca.crt "$PKI/"
      rm -rf "$joindir"
      trap - EXIT
      say "enrolled: identities in /etc/swarm/pki (updater) and /etc/swarm/pki/agent (agent)"
    fi
  fi
  # A `swarm-updater join` run by hand writes both identities into /etc/swarm/pki: give the agent its own.
  if [ -f "$PKI/agent.key" ] && [ ! -f "$PKI/agent/agent.key" ]; then
    mv "$PKI/agent.key" "$PKI/agent.crt" "$PKI/agent/"
    cp "$PKI/ca.crt" "$PKI/agent/ca.crt"
    say "moved the agent identity to ${PKI#"$R"}/agent (owned by swarm-agent)"
  fi
  # Owners and modes: each process owns (and renews) its own key; the agent cannot read the updater's.
  for f in updater.key updater.crt ca.crt; do [ -e "$PKI/$f" ] && chown "$SWARM_IDS" "$PKI/$f"; done
  for f in agent.key agent.crt ca.crt; do [ -e "$PKI/agent/$f" ] && chown "$AGENT_IDS" "$PKI/agent/$f"; done
  [ -e "$PKI/updater.key" ] && chmod 0600 "$PKI/updater.key"
  [ -e "$PKI/agent/agent.key" ] && chmod 0600 "$PKI/agent/agent.key"
  for f in "$PKI/updater.crt" "$PKI/ca.crt" "$PKI/agent/agent.crt" "$PKI/agent/ca.crt"; do [ -e "$f" ] && chmod 0644 "$f"; done
  ENROLLED=0
  [ -f "$PKI/updater.crt" ] && [ -f "$PKI/agent/agent.crt" ] && ENROLLED=1
else
  ENROLLED=0
  if [ -f "$R/var/lib/swarm/pki/ca.crt" ]; then
    ENROLLED=1
  elif [ -n "$CLUSTER" ] && [ -z "$R" ]; then
    san_args=()
    for s in "${SANS[@]}"; do san_args+=(--san "$s"); done
    runuser -u swarm -- "$NODE" /usr/lib/swarm/current/dist/controller/main.js init --state-dir /var/lib/swarm \
      --cluster "$CLUSTER" "${san_args[@]}" || fail "swarm-controller init failed (its message is above)"
    ENROLLED=1
  elif [ -n "$CLUSTER" ]; then
    say "--root: not running init (it must run as the swarm user of the real host)"
  fi
fi

# --- systemd. ---
if [ -n "$R" ]; then
  remove_old_code
  say "installed into $R (--root: systemd not touched)"
  exit 0
fi
systemctl daemon-reload
systemctl enable --quiet "${UNITS[@]}"
if [ "$START" = 0 ]; then
  say "installed; --no-start: start with systemctl start ${UNITS[*]}"
elif [ "$ENROLLED" = 0 ]; then
  if [ "$ROLE" = host ]; then
    say "installed; not enrolled yet: run install.sh again with --controller URL --ca-hash sha256:HEX --token-file FILE (docs/install.md)"
  else
    say "installed; not initialised yet: run install.sh again with --cluster NAME --san NAME (docs/install.md)"
  fi
else
  for u in "${UNITS[@]}"; do
    # A running unit is restarted only when what it runs changed: its unit file, or (updater, controller) the
    # packaged code. The agent's code is the updater's business (rollouts), never install.sh's.
    restart=0
    for c in "${CHANGED_UNITS[@]}"; do [ "$c" = "$u" ] && restart=1; done
    [ "$CHANGED_CODE" = 1 ] && [ "$u" != swarm-agent.service ] && restart=1
    if systemctl is-active --quiet "$u"; then
      if [ "$restart" = 1 ]; then systemctl restart "$u"; say "restarted $u"; fi
    else
      systemctl start "$u"
      say "started $u"
    fi
  done
  say "check: systemctl status ${UNITS[*]}"
fi
# Old packaged code goes last, and only once the services were (re)started on current above.
if [ "$START" = 1 ] && [ "$ENROLLED" = 1 ]; then remove_old_code; fi
