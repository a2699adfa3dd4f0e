#!/usr/bin/env bash
# `npm test`: installs what is missing, then runs every tier and prints the wall
# time of each: typecheck, layer check, build, unit tests (plain Node, real
# sockets), the hostile-input suite (test/hostile: bad peers, decoder bombs,
# floods, the agent under GC and signals), tier 2 (mocha inside a real VS Code extension host), tier 3 (the UI in
# code-server driven by Chromium). Runs all tiers even when one fails, and exits
# non-zero if any failed.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

total_start=$(now_s)
setup_start=$(now_s)
( set -e; ensure_all ) || die "could not install what the tests need (see above)"
setup_time=$(elapsed "$setup_start")

names=() times=() states=()
failed=0
step() { # step NAME COMMAND...
  local name=$1; shift
  local start; start=$(now_s)
  log "── $name: $*"
  if "$@"; then states+=(ok); else states+=(FAILED); failed=1; fi
  names+=("$name"); times+=("$(elapsed "$start")")
}

step typecheck    npm run --silent typecheck
step lint:layers  npm run --silent lint:layers
step eslint       npm run --silent lint
step build        bash -c 'node esbuild.mjs && node test/e2e/build.mjs'
if [ "${states[${#states[@]}-1]}" = ok ]; then  # the build step just above
  step unit          npx mocha 'test/unit/**/*.test.ts'
  step hostile       npx mocha 'test/hostile/**/*.test.ts'
  step "tier 2 host" node test/e2e/runHost.mjs
  step "tier 3 ui"   npx mocha 'test/e2e/ui/**/*.test.ts'
else
  log "build failed: skipping the test tiers"
fi

echo
printf '%-14s %8s  %s\n' "step" "seconds" "result"
printf '%-14s %8s  %s\n' "setup" "$setup_time" "ok"
for i in "${!names[@]}"; do
  printf '%-14s %8s  %s\n' "${names[$i]}" "${times[$i]}" "${states[$i]}"
done
printf '%-14s %8s  %s\n' "total" "$(elapsed "$total_start")" "$([ $failed = 0 ] && echo ok || echo FAILED)"
exit $failed
