#!/usr/bin/env bash
# Lighthouse (mobile emulation) on the public pages of a fresh `ponte serve --demo`:
# prints performance and accessibility per page and fails under 0.90 / 1.00.
# Usage: make lighthouse   (needs Debian's chromium; npm installs Lighthouse 12.2.3 here)
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund >/dev/null
root="$(cd ../.. && pwd)"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/ponte" "$root/gateway/cmd/ponte"
"$work/ponte" serve -target=all --demo --data-dir="$work/data" --http-addr=127.0.0.1:18089 --grpc-addr=127.0.0.1:19099 >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do curl -sf 'http://127.0.0.1:18089/v1/services:search?page_size=1' | grep -q '"totalSize":[1-9]' && break; sleep 1; done
status=0
for path in '/?hl=it' '/?hl=it&q=corso+di+italiano' '/?hl=ar&q=legal'; do
  CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}" node_modules/.bin/lighthouse "http://127.0.0.1:18089$path" \
    --only-categories=performance,accessibility --form-factor=mobile --quiet \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync" \
    --output=json --output-path="$work/lh.json"
  read -r perf a11y < <(node -e 'const r=require(process.argv[1]);console.log(r.categories.performance.score, r.categories.accessibility.score)' "$work/lh.json")
  echo "$path  performance $perf  accessibility $a11y"
  node -e 'process.exit(+process.argv[1] >= 0.9 && +process.argv[2] >= 1 ? 0 : 1)' "$perf" "$a11y" || status=1
done
exit $status
