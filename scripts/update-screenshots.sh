#!/usr/bin/env bash
# Copies the screenshots the UI tests (tier 3) wrote to test-results/ into
# media/screenshots/ under stable names, for the README and the Get Started
# walkthrough. Run after `npx mocha 'test/e2e/ui/**/*.test.ts'` (or `npm test`),
# look at them, and commit the ones that changed. Fails, copying nothing, when a
# screenshot is missing (its test did not run or failed before taking it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/test-results"
DEST="$ROOT/media/screenshots"

# test-results name           -> media/screenshots name
pairs=(
  ui-endpoints-view.png          zeromq-view.png
  ui-examples-run.png            example-run.png
  ui-spy-session.png             spy-session.png
  ui-frames-live.png             frames-viewer.png
  ui-frames-hex-dump.png         frames-hex-dump.png
  ui-topology-map.png            topology-map.png
  ui-topology-doctor.png         doctor.png
  ui-codelens-python.png         codelens.png
  ui-vsix-walkthrough.png        walkthrough.png
)

missing=()
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
  [ -f "$SRC/${pairs[i]}" ] || missing+=("${pairs[i]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing in test-results/: ${missing[*]} (run the UI tests first)" >&2
  exit 1
fi
mkdir -p "$DEST"
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
  cp "$SRC/${pairs[i]}" "$DEST/${pairs[i + 1]}"
  echo "media/screenshots/${pairs[i + 1]}  <-  test-results/${pairs[i]}"
done
