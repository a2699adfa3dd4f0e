#!/usr/bin/env bash
# Copies the screenshots the UI tests (tier 3) wrote to test-results/ into
# media/screenshots/ under stable names, for the README, and crops the Get Started
# walkthrough's pictures out of them into media/walkthrough/. Run after `npx mocha 'test/e2e/ui/**/*.test.ts'` (or `npm test`),
# look at them, and commit the ones that changed. Fails, copying nothing, when a
# screenshot is missing (its test did not run or failed before taking it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/test-results"
DEST="$ROOT/media/screenshots"

# test-results name           -> media/screenshots name
pairs=(
  ui-endpoints-view.png          zeromq-view.png
  ui-spy-session.png             spy-session.png
  ui-vsix-frames.png             frames-viewer.png
  ui-frames-hex-dump.png         frames-hex-dump.png
  ui-topology-map.png            topology-map.png
  ui-topology-doctor.png         doctor.png
  ui-topology-socket.png         topology-groups.png
  ui-codelens-python.png         codelens.png
  ui-vsix-walkthrough.png        walkthrough.png
  ui-decoded-tree.png            decoded-tree.png
  ui-decoded-filter.png          decoded-filter.png
  ui-timeline.png                timeline.png
  ui-import-pcap.png             import-pcap.png
  ui-native-processes.png        native-processes.png
  ui-native-map.png              native-map.png
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

# the walkthrough's media column is narrow: it shows the part of the window each
# step is about (side bar: x 0-348; editor: right of it, below the 35 px title bar)
cd "$ROOT"
node scripts/crop-png.mjs \
  media/screenshots/zeromq-view.png   media/walkthrough/view.png     0   35  348 840 \
  media/screenshots/frames-viewer.png media/walkthrough/example.png  0   35  348 840 \
  media/screenshots/spy-session.png   media/walkthrough/spy.png      0   35  348 840 \
  media/screenshots/frames-viewer.png media/walkthrough/frames.png   348 35  1052 560 \
  media/screenshots/topology-map.png  media/walkthrough/topology.png 348 35  1152 890
