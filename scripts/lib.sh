# Shared by scripts/test.sh, scripts/start.sh and scripts/install-test-vscode.sh:
# installs what the project needs when it is missing, and says clearly what to
# do when it cannot (not root, no apt). Source it; it defines functions only.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CODE_SERVER_VERSION=4.100.3
CODE_SERVER_DIR="$ROOT/.vscode-test/code-server-$CODE_SERVER_VERSION"

log() { printf '\033[1m[zmq-debugger]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[zmq-debugger] error:\033[0m %s\n' "$*" >&2; exit 1; }

# ensure_apt PKG... — installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages: ${missing[*]}. Run as root, or install them first: sudo apt-get install -y ${missing[*]}"
  fi
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get on this machine; install them with your package manager"
  log "installing Debian packages: ${missing[*]}"
  # the package lists may be stale or absent on a fresh machine: update once, then install
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_node_modules — npm ci when node_modules is absent. A stale one only gets a
# warning: npm ci deletes node_modules, which would pull it from under anyone else
# running tests in this working tree.
ensure_node_modules() {
  if [ ! -d "$ROOT/node_modules/.bin" ]; then
    log "installing npm dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund)
  elif [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "warning: package-lock.json is newer than node_modules; run 'npm ci' if something is missing"
  fi
}

# ensure_test_vscode — code-server (a real VS Code server build) for the e2e tiers.
ensure_test_vscode() {
  bash "$ROOT/scripts/install-test-vscode.sh"
}

# ensure_all — everything `npm start` and `npm test` need.
ensure_all() {
  ensure_apt chromium python3-zmq libkrb5-dev ripgrep python3-ipykernel python3-jupyter-client python3-msgpack python3-protobuf python3-cbor2 python3-gevent python3-locust python3-ipyparallel libzmq3-dev cppzmq-dev gcc g++ gcc-aarch64-linux-gnu libc6-dev-arm64-cross tcpdump tshark pushpin
  ensure_node_modules
  ensure_test_vscode
}

# now_s — seconds since the epoch with decimals, for wall-time reports.
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }
