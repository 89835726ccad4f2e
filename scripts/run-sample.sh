#!/usr/bin/env bash
# Builds isoscan and scans the sample drawings for the sample code list.
# Writes isoscan-report.xlsx and sample-events.ndjson in the current folder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
command -v cargo >/dev/null || { echo "cargo (Rust) is needed: see https://rustup.rs" >&2; exit 1; }
cargo build --release --locked -p isoscan-local --bin isoscan
./target/release/isoscan scan samples/drawings --targets samples/codes.xlsx \
  --out isoscan-report.xlsx --events sample-events.ndjson "$@"
