#!/usr/bin/env bash
# How `isoscan scan` scales with cores: the same generated corpus scanned with 1, 2, 4, ...
# reader processes, up to the machine's cores. Prints one line per run and the speed-up over
# one job, measured in this invocation.
#   scripts/bench-scaling.sh [FILES=20000] [BIN_DIR=target/release]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
files="${1:-20000}"
bin="${2:-}"
if [ -z "$bin" ]; then
  cargo build --release --locked -p isoscan-local -p isoscan-pdfgen
  bin=target/release
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin/isoscan-gen" corpus "$work" --files "$files" --small --codes 2000 >/dev/null
cores="$(nproc)"
echo "scaling: $files drawings, $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
base=""
jobs=1
while [ "$jobs" -le "$cores" ]; do
  start=$(date +%s.%N)
  "$bin/isoscan" scan "$work/drawings" --targets "$work/codes.xlsx" --jobs "$jobs" --out "$work/r.xlsx" 2>"$work/log"
  end=$(date +%s.%N)
  secs=$(awk "BEGIN { print $end - $start }")
  rate=$(awk "BEGIN { print $files / $secs }")
  [ -z "$base" ] && base="$rate"
  printf 'scaling: --jobs %-3s %7.2f s  %8.0f files/s  %5.2fx one job\n' "$jobs" "$secs" "$rate" "$(awk "BEGIN { print $rate / $base }")"
  tail -1 "$work/log" | sed 's/^/scaling:   /' | cut -c1-160
  jobs=$((jobs * 2))
done
