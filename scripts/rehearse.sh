#!/usr/bin/env bash
# The deployment rehearsal: deploys the stack into moto as an operator deploys it into an
# account (`cdk bootstrap`, then `cdk deploy` with the Lambda zips of target/lambda, which
# `cargo lambda build --output-format zip -p isoscan-lambda` writes), reads it back
# (scripts/rehearse.py) and runs the functions' entry points with that configuration through a
# 300-file S3 scan and an upload scan (crates/lambda/tests/rehearsal.rs). Starts its own moto.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
for b in ws-connect ws-disconnect ws-message worker dlq-drain link sweeper; do
  [ -f "target/lambda/$b/bootstrap.zip" ] || {
    echo "target/lambda/$b/bootstrap.zip is missing: cargo lambda build --output-format zip -p isoscan-lambda" >&2
    exit 1
  }
done
case "$(uname -m)" in
  aarch64 | arm64) arch=arm64 ;;
  *) arch=x86_64 ;;
esac
work="$(mktemp -d)"
moto_pid=""
trap 'rm -rf "$work"; [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null' EXIT
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 scripts/moto_server.py -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
endpoint="http://127.0.0.1:$port"
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.2
done
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export CDK_DISABLE_CLI_TELEMETRY=true
stack=IsoscanRehearsal
echo "== cdk bootstrap, cdk deploy ($arch) into moto"
(
  cd infra
  npx cdk bootstrap --no-notices >"$work/bootstrap.log" 2>&1 || { cat "$work/bootstrap.log"; exit 1; }
  npx cdk deploy --require-approval never --no-notices -c stackName="$stack" -c architecture="$arch" \
    -c lambdaDir=../target/lambda -c sourceBuckets=plant-a >"$work/deploy.log" 2>&1 \
    || { cat "$work/deploy.log"; exit 1; }
)
python3 scripts/rehearse.py "$endpoint" "$stack" "infra/cdk.out/$stack.template.json" "$work/deployed.json"
echo "== the deployed functions' entry points, scans to the end"
ISOSCAN_MOTO_ENDPOINT="$endpoint" ISOSCAN_DEPLOYED="$work/deployed.json" \
  cargo test --locked -p isoscan-lambda --test rehearsal -- --ignored --nocapture
