#!/usr/bin/env bash
# The OCR benchmark (pages per second, peak memory, recall): scripts/bench-ocr.sh [SCANS=12] [JOBS=nproc]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
for tool in tesseract pdftoppm; do
  command -v "$tool" >/dev/null || { echo "$tool is needed: apt install tesseract-ocr poppler-utils" >&2; exit 1; }
done
cargo build --release --locked -p isoscan-local && cargo build --release --locked -p isoscan-pdfgen --example scans --example outlined --example a0
exec python3 scripts/bench_ocr.py --scans "${1:-12}" --jobs "${2:-$(nproc)}"
