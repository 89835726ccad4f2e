#!/usr/bin/env bash
# The scan benchmark: isoscan against a pdftotext | grep -F -w -f pipeline with the same
# parallelism, on a generated corpus. Results go to docs/BENCHMARKS.md by hand.
#   scripts/bench.sh [FILES=6600] [JOBS=nproc]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
files="${1:-6600}"
jobs="${2:-$(nproc)}"
if ! command -v pdftotext >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; else echo "pdftotext (poppler-utils) is needed" >&2; exit 1; fi
fi
cargo build --release --locked -p isoscan-local -p isoscan-pdfgen && cargo build --release --locked -p isoscan-core --example report_rows
exec python3 scripts/bench.py --files "$files" --jobs "$jobs"
