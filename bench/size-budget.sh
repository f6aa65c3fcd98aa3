#!/usr/bin/env bash
# Prints what a visitor downloads for the widget: each file raw, as gzip -9
# would send it, and as the copies the build wrote and the adapter serves:
# .br (Brotli 11) to browsers that accept br, .gz (zopfli) to the rest.
# Goals: 92,160 B (90 KB) served as Brotli and 102,400 B (100 KB) as gzip, in
# total; exits 1 over either, so the test command keeps every new feature
# inside the budget. The stylesheet is inside the wasm, minified by build.rs:
# its row is for reference only.
# Run: bench/size-budget.sh   (after scripts/demo.sh or scripts/test.sh built dist/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for copy in gz br; do
  [ -f "dist/firststep-widget_bg.wasm.$copy" ] || { echo "dist/ is not built: run trunk build --release" >&2; exit 1; }
done

size() { wc -c < "$1"; }
gzip9() { gzip -9 -c "$1" | wc -c; }
row() { printf '%-28s %9s %9s %11s %11s\n' "$@"; }

row "file (bytes)" "raw" "gzip -9" "served .gz" "served .br"
total_gzip=0; total_gz=0; total_br=0
for file in firststep.js element.js firststep-widget.js firststep-widget_bg.wasm; do
  row "$file" "$(size "dist/$file")" "$(gzip9 "dist/$file")" "$(size "dist/$file.gz")" "$(size "dist/$file.br")"
  total_gzip=$((total_gzip + $(gzip9 "dist/$file")))
  total_gz=$((total_gz + $(size "dist/$file.gz")))
  total_br=$((total_br + $(size "dist/$file.br")))
done
css=$(ls -t target/wasm32-unknown-unknown/widget/build/firststep-widget-*/out/widget.css 2>/dev/null | head -1)
[ -n "$css" ] && row "(widget.css, in the wasm)" "$(size "$css")" "$(gzip9 "$css")" "-" "-"
row "total download" "" "$total_gzip" "$total_gz" "$total_br"

over=0
goal() { # name, served, budget
  if [ "$2" -gt "$3" ]; then
    echo "goal: $3 B served as $1: OVER by $(($2 - $3)) B" >&2
    over=1
  else
    echo "goal: $3 B served as $1 ($(($3 - $2)) B to spare)"
  fi
}
goal Brotli "$total_br" 92160
goal gzip "$total_gz" 102400
exit "$over"
