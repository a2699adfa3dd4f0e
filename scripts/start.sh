#!/usr/bin/env bash
# `npm start [FOLDER]`: installs what is missing, builds, and runs the extension in
# a real VS Code (code-server) in the browser on 127.0.0.1, with FOLDER open (your
# own project), or the demo/ workspace when none is given. Port: $PORT, else 8080
# if free, else any free port. Ctrl-C stops it and everything it started.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# the folder, resolved from where npm was started (npm runs scripts from the package root)
[ $# -le 1 ] || die "usage: npm start [FOLDER] (one folder; got $# arguments)"
FOLDER="$ROOT/demo"
if [ $# -eq 1 ]; then
  case "$1" in
    /*) FOLDER="$1" ;;
    *) FOLDER="${INIT_CWD:-$PWD}/$1" ;;
  esac
  [ -d "$FOLDER" ] || die "no such folder: $1"
  FOLDER="$(cd "$FOLDER" && pwd)"
fi
cd "$ROOT"

ensure_all
log "building"
node esbuild.mjs

port_free() { node -e 'const s=require("net").createServer();s.once("error",()=>process.exit(1));s.listen(+process.argv[1],"127.0.0.1",()=>s.close(()=>process.exit(0)))' "$1"; }
if [ -n "${PORT:-}" ]; then
  port_free "$PORT" || die "port $PORT (from \$PORT) is in use on 127.0.0.1"
elif port_free 8080; then
  PORT=8080
else
  PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
fi

# kept between runs (under the git-ignored .vscode-test/), so settings and layout survive
STATE="$ROOT/.vscode-test/start"
mkdir -p "$STATE/user-data/User" "$STATE/extensions"
[ -f "$STATE/user-data/User/settings.json" ] || cat >"$STATE/user-data/User/settings.json" <<'JSON'
{
  "workbench.startupEditor": "none",
  "extensions.autoCheckUpdates": false,
  "git.openRepositoryInParentFolders": "never"
}
JSON
ext_id=$(node -p 'const p=require("./package.json"); `${p.publisher}.${p.name}-${p.version}`')
find "$STATE/extensions" -maxdepth 1 -name "$(node -p 'const p=require("./package.json"); `${p.publisher}.${p.name}-`')*" -type l -delete
ln -sfn "$ROOT" "$STATE/extensions/$ext_id"

URL="http://127.0.0.1:$PORT/?folder=$(node -p 'encodeURI(process.argv[1]).replace(/[?#&+]/g, encodeURIComponent)' "$FOLDER")"
# setsid: code-server leads its own process group, so cleanup reaches everything it forks
setsid node "$CODE_SERVER_DIR/node_modules/code-server/out/node/entry.js" \
  --auth none --bind-addr "127.0.0.1:$PORT" \
  --user-data-dir "$STATE/user-data" --extensions-dir "$STATE/extensions" \
  --disable-telemetry --disable-update-check --disable-workspace-trust \
  "$FOLDER" >"$STATE/code-server.log" 2>&1 &
CS_PID=$!
cleanup() {
  trap - INT TERM EXIT
  if kill -0 "$CS_PID" 2>/dev/null; then
    kill -TERM -- "-$CS_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$CS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$CS_PID" 2>/dev/null || true
  fi
  log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 300); do
  grep -q 'HTTP server listening' "$STATE/code-server.log" 2>/dev/null && break
  kill -0 "$CS_PID" 2>/dev/null || { cat "$STATE/code-server.log" >&2; die "code-server exited"; }
  sleep 0.1
done
grep -q 'HTTP server listening' "$STATE/code-server.log" || die "code-server did not start in 30 s (log: $STATE/code-server.log)"

cat <<MSG

  ZeroMQ Topology Debugger is running in VS Code (code-server $CODE_SERVER_VERSION)
  with $FOLDER open:

      $URL

  Open it in a browser on this machine (127.0.0.1 only; from elsewhere use an SSH
  tunnel: ssh -L $PORT:127.0.0.1:$PORT <host>).$( [ "$FOLDER" = "$ROOT/demo" ] && echo " The demo/ programs are described in
  demo/README.md; open your own project with: npm start /path/to/project.")
  Log: ${STATE#$ROOT/}/code-server.log. Ctrl-C to stop.

MSG
wait "$CS_PID" || true
