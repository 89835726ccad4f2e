#!/usr/bin/env bash
# Runs every check and test of the repository: formatting, lints, the Rust test suites (the AWS
# adapters against moto, started here on loopback and stopped at the end), the dashboard's unit
# tests (Vitest) and its browser test (Playwright driving Debian's Chromium). Installs what is
# missing first (Chromium and Tesseract with apt when run as root, moto with pip, npm packages
# from the lock file).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
command -v cargo >/dev/null || { echo "cargo (Rust) is needed: see https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "Node.js 20 or later with npm is needed for the dashboard" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt 2>/dev/null || true
missing=""
command -v chromium >/dev/null || missing="$missing chromium"
command -v tesseract >/dev/null || missing="$missing tesseract-ocr"
# Generated scans are rendered with poppler, in a real font.
command -v pdftoppm >/dev/null || missing="$missing poppler-utils"
fc-list 2>/dev/null | grep -qi dejavu || missing="$missing fonts-dejavu-core"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing$missing"
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "needed for the tests (browser, OCR): apt-get install$missing" >&2
    exit 1
  fi
fi
if ! command -v cargo-lambda >/dev/null; then
  echo "== installing cargo-lambda (builds the Lambda zips)"
  python3 -m pip install -q cargo-lambda
  command -v pyenv >/dev/null && pyenv rehash
fi
if ! command -v cfn-lint >/dev/null; then
  echo "== installing cfn-lint (the infra tests lint the template)"
  python3 -m pip install -q cfn-lint
  command -v pyenv >/dev/null && pyenv rehash
fi
if ! python3 -c "import moto.server, flask_cors" 2>/dev/null; then
  echo "== installing moto (the AWS emulator the AWS adapters are tested against)"
  python3 -m pip install -q 'moto[server]'
fi
export CARGO_TERM_COLOR=never
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "== npm ci"
npm --prefix frontend ci --no-audit --no-fund
echo "== dashboard: type check and build"
npm --prefix frontend run build
echo "== infra: npm ci"
npm --prefix infra ci --no-audit --no-fund

log="$(mktemp)"
moto_pid=""
trap 'rm -f "$log"; [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null' EXIT
moto_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 scripts/moto_server.py -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
moto_pid=$!
export ISOSCAN_MOTO_ENDPOINT="http://127.0.0.1:$moto_port"
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $moto_port), 1)" 2>/dev/null && break
  sleep 0.2
done
failed=0
echo "== cargo test"
# No doc tests: the crates have no examples in their docs, and an empty doc-test run must not
# be the last word.
set +e
# Every target but the entry points' own harnesses (`test = false`, `bench = false`: they have
# no unit tests, and `--all-targets` would link each of them, with the AWS SDKs, for nothing).
# `--no-fail-fast`: one failing binary must not hide what the others would say.
cargo test --locked --no-fail-fast --workspace --lib --tests --benches --examples 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1
set -e
rust="$(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "rust: %d passed, %d failed", p, f }' "$log")"

echo "== vitest"
set +e
(cd frontend && npx vitest run --reporter=default) 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1
set -e
vitest="dashboard: $(sed -E 's/\x1b\[[0-9;]*m//g' "$log" | awk '/^ *Tests / { $1 = ""; print; exit }' | sed 's/^ *//')"

echo "== infra: CDK assertions"
set +e
(cd infra && npm test) 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1
set -e
infra="infra: $(awk '/^# pass/ { p = $3 } /^# fail/ { f = $3 } END { printf "%d passed, %d failed", p, f }' "$log")"

echo "== Lambda zips and cdk synth"
# The host architecture (the arm64 target is a toolchain download CI must not rely on); the
# stack takes the architecture as a parameter.
set +e
# Without debug info: the zips only prove the build; deployments build --release.
CARGO_PROFILE_DEV_DEBUG=0 cargo lambda build --compiler cargo --output-format zip -p isoscan-lambda --locked \
  && (cd infra && CDK_DISABLE_CLI_TELEMETRY=true npx cdk synth --no-notices --quiet \
        -c lambdaDir=../target/lambda >/dev/null)
if [ $? = 0 ]; then
  zips="lambda zips:$(for z in target/lambda/*/bootstrap.zip; do printf ' %s %s MiB,' "$(basename "$(dirname "$z")")" "$(du -m "$z" | cut -f1)"; done | sed 's/,$//'); cdk synth: $(ls infra/cdk.out/*.template.json | wc -l) template"
else
  zips="lambda zips / cdk synth: failed"; failed=1
fi
set -e

echo "== deployment rehearsal"
# The stack deployed into moto as `cdk deploy` does, and its functions run with what it set.
set +e
bash scripts/rehearse.sh 2>&1 | tee "$log"
if [ "${PIPESTATUS[0]}" = 0 ]; then
  rehearsal="$(grep '^rehearsal: s3' "$log" | sed 's/^rehearsal: //'); $(grep -c '^rehearsal:' "$log") steps passed"
  rehearsal="rehearsal: $(grep -E '^IsoscanRehearsal: ' "$log" | sed 's/^IsoscanRehearsal: //'); $rehearsal"
else
  rehearsal="rehearsal: failed"; failed=1
fi
set -e

echo "== browser test"
# `cargo test` built target/debug/isoscan for the integration tests; only the generator is missing.
cargo build --locked -p isoscan-pdfgen --bin isoscan-gen
set +e
node frontend/e2e/run.mjs
if [ $? = 0 ]; then browser="browser: passed"; else browser="browser: failed"; failed=1; fi
set -e
echo "$rust"
echo "$vitest"
echo "$infra"
echo "$zips"
echo "$rehearsal"
echo "$browser"
# The build's size: CI machines have little disk.
echo "target: $(du -sh target 2>/dev/null | cut -f1)"
exit "$failed"
