#!/usr/bin/env bash
# load-test/wrk-load-test.sh against the real platform: the five services (BIN_DIR) started on free
# loopback ports, every scenario run for 2 % of its time; no evaluation may fail (latency limits are
# lifted: tests never assert timings on these shared machines). Then against
# a URL that answers every evaluation with an error (flag-service has no /evaluate): it must fail
# and say which threshold. SKIPPED (77) without wrk (scripts/install-deps.sh --bench or --test).
set -euo pipefail
bin=${1:?usage: wrk-load-test-check.sh BIN_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v wrk >/dev/null || { echo "SKIP: wrk is not installed (scripts/install-deps.sh --test installs it)"; exit 77; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
declare -A port
for s in auth-service flag-service targeting-service evaluation-service analytics-service; do port[$s]=$(free_port); done
url() { echo "http://127.0.0.1:${port[$1]}"; }
for s in auth-service flag-service targeting-service analytics-service evaluation-service; do
  [[ -x $bin/$s ]] || { echo "$bin/$s is not built (make test builds it)"; exit 1; }
  mkdir -p "$work/$s"
  env PORT="${port[$s]}" HOST=127.0.0.1 DATA_DIR="$work/$s" LOG_LEVEL=warn \
    AUTH_SERVICE_URL="$(url auth-service)" FLAG_SERVICE_URL="$(url flag-service)" \
    TARGETING_SERVICE_URL="$(url targeting-service)" ANALYTICS_SERVICE_URL="$(url analytics-service)" \
    "$bin/$s" >"$work/$s.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf -o /dev/null "$(url "$s")/health" && break; sleep 0.1; done
  curl -sf -o /dev/null "$(url "$s")/health" || { echo "$s did not start"; cat "$work/$s.log"; exit 1; }
done

export FLAG_SERVICE_URL TARGETING_SERVICE_URL EVALUATION_SERVICE_URL
FLAG_SERVICE_URL=$(url flag-service) TARGETING_SERVICE_URL=$(url targeting-service)
EVALUATION_SERVICE_URL=$(url evaluation-service)
echo "== every scenario, 2 % of its time, against the platform: no evaluation may fail"
P95_MAX_MS=600000 P99_MAX_MS=600000 DURATION_SCALE=0.02 THREADS=1 "$repo/load-test/wrk-load-test.sh" all

echo "== evaluations that all fail: must fail"
set +e
out=$(EVALUATION_SERVICE_URL=$(url flag-service) DURATION_SCALE=0.02 THREADS=1 "$repo/load-test/wrk-load-test.sh" smoke 2>&1)
status=$?
set -e
echo "$out"
[[ $status == 1 && $out == *"FAILED: failures>=5%"* ]] || { echo "expected exit 1 and a failed failure-rate threshold, got exit $status"; exit 1; }
echo "ok   wrk-load-test.sh passes against the platform and fails when evaluations fail"
