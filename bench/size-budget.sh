#!/usr/bin/env bash
# Prints what a visitor downloads for the widget: each file raw, as gzip -9
# would send it, and as the .gz copy the build wrote (zopfli) and the adapter
# serves. Goal: 100 KB (102,400 B) served in total; exits 1 over it, so the
# test command keeps every new feature inside the budget. The stylesheet is inside
# the wasm, minified by build.rs: its row is for reference only.
# Run: bench/size-budget.sh   (after scripts/demo.sh or scripts/test.sh built dist/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f dist/firststep-widget_bg.wasm.gz ] || { echo "dist/ is not built: run trunk build --release" >&2; exit 1; }

size() { wc -c < "$1"; }
gzip9() { gzip -9 -c "$1" | wc -c; }
row() { printf '%-28s %9s %9s %11s\n' "$@"; }

row "file (bytes)" "raw" "gzip -9" "served .gz"
total_gzip=0; total_served=0
for file in firststep.js element.js firststep-widget.js firststep-widget_bg.wasm; do
  row "$file" "$(size "dist/$file")" "$(gzip9 "dist/$file")" "$(size "dist/$file.gz")"
  total_gzip=$((total_gzip + $(gzip9 "dist/$file")))
  total_served=$((total_served + $(size "dist/$file.gz")))
done
css=$(ls -t target/wasm32-unknown-unknown/widget/build/firststep-widget-*/out/widget.css 2>/dev/null | head -1)
[ -n "$css" ] && row "(widget.css, in the wasm)" "$(size "$css")" "$(gzip9 "$css")" "-"
row "total download" "" "$total_gzip" "$total_served"
budget=102400
if [ "$total_served" -gt "$budget" ]; then
  echo "goal: $budget B served: OVER by $((total_served - budget)) B" >&2
  exit 1
fi
echo "goal: $budget B served ($((budget - total_served)) B to spare)"
