#!/usr/bin/env bash
# Builds the dashboard and isoscan, then serves them on the sample drawings. Open the URL it
# prints, paste the drawings folder it names, pick samples/codes.xlsx, and press Start.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
command -v cargo >/dev/null || { echo "cargo (Rust) is needed: see https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "Node.js 20 or later with npm is needed to build the dashboard" >&2; exit 1; }
if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
  npm --prefix frontend ci --no-audit --no-fund
fi
npm --prefix frontend run build
cargo build --release --locked -p isoscan-local --bin isoscan
echo "isoscan serve: scan the folder $here/samples/drawings with the code list samples/codes.xlsx"
exec ./target/release/isoscan serve --root samples --data .isoscan-data --dashboard frontend/dist "$@"
