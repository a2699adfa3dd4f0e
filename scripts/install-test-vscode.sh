#!/usr/bin/env bash
# Installs code-server (a complete VS Code server build, VS Code 1.100.3) from the
# npm registry into .vscode-test/code-server-<version>/, without reaching GitHub:
# see ../shared/docs/testing-in-real-vscode.md for why each step is needed.
# Idempotent: a marker file written after a successful install makes reruns free.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MARKER="$CODE_SERVER_DIR/.installed"
CS_PKG="$CODE_SERVER_DIR/node_modules/code-server"
installed() { [ -f "$MARKER" ] && [ -f "$CS_PKG/lib/vscode/out/server-main.js" ]; }
installed && exit 0

# one installer at a time (npm test and npm start may race); the second one waits and reuses
mkdir -p "$ROOT/.vscode-test"
exec 9>"$ROOT/.vscode-test/.install-code-server.lock"
flock 9
installed && exit 0

ensure_apt libkrb5-dev ripgrep   # kerberos needs gssapi/gssapi.h; rg replaces the GitHub download

start=$(now_s)
log "installing code-server $CODE_SERVER_VERSION into ${CODE_SERVER_DIR#$ROOT/} (about a minute, once)"
rm -rf "$CODE_SERVER_DIR"
mkdir -p "$CODE_SERVER_DIR/tmp"
# its own package.json, so npm never walks up to the extension's manifest
printf '{ "name": "test-vscode", "private": true }\n' >"$CODE_SERVER_DIR/package.json"

# @vscode/ripgrep looks in $TMPDIR/vscode-ripgrep-cache-<its version>/ before downloading from GitHub
RG_VERSION=1.15.11
RG_CACHE="$CODE_SERVER_DIR/tmp/vscode-ripgrep-cache-$RG_VERSION"
mkdir -p "$RG_CACHE"
case "$(uname -m)" in
  x86_64) RG_TARGET=x86_64-unknown-linux-musl ;;
  aarch64) RG_TARGET=aarch64-unknown-linux-musl ;;
  *) die "no ripgrep cache name known for $(uname -m)" ;;
esac
RG_BIN="$(command -v rg)" || die "ripgrep (rg) not found"
stage="$CODE_SERVER_DIR/tmp/rg-stage"
mkdir -p "$stage" && cp "$RG_BIN" "$stage/rg"
tar -C "$stage" -czf "$RG_CACHE/ripgrep-v13.0.0-10-$RG_TARGET.tar.gz" rg
rm -rf "$stage"

export TMPDIR="$CODE_SERVER_DIR/tmp"
export npm_config_unsafe_perm=true   # the postinstall refuses to run as root otherwise
export npm_config_yes=true           # node-pty's postinstall runs `npx node-gyp`, which asks
# node-gyp downloads Node's headers unless told where they are
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ] && [ -z "$(npm config get nodedir 2>/dev/null | grep -v undefined || true)" ]; then
  export npm_config_nodedir=/usr
fi
(cd "$CODE_SERVER_DIR" && npm install --no-audit --no-fund --no-save --loglevel=warn "code-server@$CODE_SERVER_VERSION") \
  || die "code-server install failed (see the npm output above); rerun to retry"
[ -f "$CS_PKG/lib/vscode/out/server-main.js" ] || die "code-server installed but lib/vscode/out/server-main.js is missing"
rm -rf "$CODE_SERVER_DIR/tmp"
date -u +%FT%TZ >"$MARKER"
log "code-server $CODE_SERVER_VERSION installed in $(elapsed "$start") s"
