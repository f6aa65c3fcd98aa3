#!/usr/bin/env bash
# Prints what a visitor downloads for the widget, raw and gzip -9, against the
# goal of 100 KB gzip in total. Measures dist/ as `trunk build --release` left it.
# Run: bench/size-budget.sh   (after scripts/demo.sh or scripts/test.sh built dist/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f dist/firststep-widget_bg.wasm ] || { echo "dist/ is not built: run trunk build --release" >&2; exit 1; }

gz() { gzip -9 -c "$@" | wc -c; }
raw() { cat "$@" | wc -c; }
row() { printf '%-34s %9s B %9s B gzip\n' "$1" "$2" "$3"; }

js_files=(dist/firststep.js dist/element.js dist/firststep-widget.js)
wasm_gz=$(gz dist/firststep-widget_bg.wasm)
js_gz=0; for f in "${js_files[@]}"; do js_gz=$((js_gz + $(gz "$f"))); done

row "wasm (firststep-widget_bg.wasm)" "$(raw dist/firststep-widget_bg.wasm)" "$wasm_gz"
row "JS (loader, bindings, snippets)" "$(raw "${js_files[@]}")" "$js_gz"
row "CSS (styles/widget.css, in wasm)" "$(raw styles/widget.css)" "$(gz styles/widget.css)"
total=$((wasm_gz + js_gz))
printf '%-34s %9s   %9s B gzip (goal: 102400)\n' "total download" "" "$total"
