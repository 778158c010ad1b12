#!/usr/bin/env bash
# The k6 load test's scenarios with wrk (make bench's load generator; Debian's `wrk` package),
# for where k6 is not installed. Against a running platform:
#
#   BASE_URL=http://<ingress-ip> API_KEY=<key> load-test/wrk-load-test.sh [smoke|rampup|stress|all]
#   # without an ingress (docker compose up, make run): the services' own ports
#   FLAG_SERVICE_URL=http://localhost:8002 TARGETING_SERVICE_URL=http://localhost:8003 \
#     EVALUATION_SERVICE_URL=http://localhost:8004 load-test/wrk-load-test.sh smoke
#
# Scenarios (k6-load-test.js's): smoke 5 connections for 30 s; rampup 50 -> 100 -> 200 -> 200 ->
# 100 -> 25 connections over 6 min (wrk cannot ramp, so it steps); stress 300 connections for
# 3 min. A connection plays a k6 virtual user: one evaluation of FLAG_NAME for a new user, then
# THINK_MS (100) of pause. Thresholds, per step (k6's): p(95) < 2 s, failures < 5 %, p(99) < 3 s,
# evaluation errors < 10 %. Every request is an evaluation (wrk runs one request type; the k6
# script also reads the flag now and then). Exit status 1 when a threshold fails.
#
#   DURATION_SCALE=0.1   run every step for a tenth of its time (a quick try)
#   THREADS=2            wrk threads;  FLAG_NAME=k6-load-test;  THINK_MS=100
#   P95_MAX_MS=2000 P99_MAX_MS=3000 MAX_FAILURES_PERCENT=5   the thresholds
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scenario=${1:-all}
BASE_URL=${BASE_URL:-http://localhost}
BASE_URL=${BASE_URL%/}
API_KEY=${API_KEY:-tm_key_service_internal_dev}
FLAG_NAME=${FLAG_NAME:-k6-load-test}
THREADS=${THREADS:-2}
SCALE=${DURATION_SCALE:-1}
P95_MAX_MS=${P95_MAX_MS:-2000} P99_MAX_MS=${P99_MAX_MS:-3000} MAX_FAILURES_PERCENT=${MAX_FAILURES_PERCENT:-5}
export FLAG_NAME THINK_MS=${THINK_MS:-100}
flags=${FLAG_SERVICE_URL:-$BASE_URL/flags}
targeting=${TARGETING_SERVICE_URL:-$BASE_URL/targeting}
if [[ -n ${EVALUATION_SERVICE_URL:-} ]]; then
  evaluate_base=${EVALUATION_SERVICE_URL%/} EVALUATE_PATH=/evaluate
else
  evaluate_base=$BASE_URL EVALUATE_PATH=/evaluate/evaluate
fi
export EVALUATE_PATH
command -v wrk >/dev/null || { echo "wrk-load-test: wrk is not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }

case "$scenario" in
  smoke) steps=("smoke 5 30") ;;
  rampup) steps=("rampup 50 60" "rampup 100 60" "rampup 200 60" "rampup 200 120" "rampup 100 30" "rampup 25 30") ;;
  stress) steps=("stress 300 180") ;;
  all) steps=("smoke 5 30" "rampup 50 60" "rampup 100 60" "rampup 200 60" "rampup 200 120" "rampup 100 30" "rampup 25 30" "stress 300 180") ;;
  *) echo "wrk-load-test: unknown scenario $scenario (smoke, rampup, stress, all)" >&2; exit 2 ;;
esac

# The k6 script's setup(): the flag and a 50 % rule (409: they exist), then wait for /evaluate.
post() {
  local url=$1 body=$2 code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url" -H "Authorization: $API_KEY" -H 'Content-Type: application/json' -d "$body")
  [[ $code == 201 || $code == 409 ]] || { echo "wrk-load-test: POST $url answered $code" >&2; exit 1; }
}
post "$flags/flags" "{\"name\":\"$FLAG_NAME\",\"description\":\"wrk load test\",\"is_enabled\":true}"
post "$targeting/rules" "{\"flag_name\":\"$FLAG_NAME\",\"is_enabled\":true,\"rules\":{\"type\":\"PERCENTAGE\",\"value\":50}}"
for _ in $(seq 1 50); do
  curl -sf -o /dev/null "$evaluate_base$EVALUATE_PATH?user_id=wrk-setup&flag_name=$FLAG_NAME" && break
  sleep 0.2
done

failed=0
printf '%-8s %6s %8s %9s %8s %8s %8s %8s  %s\n' step conns seconds requests 'fail %' 'p50 ms' 'p95 ms' 'p99 ms' thresholds
for step in "${steps[@]}"; do
  read -r name conns seconds <<<"$step"
  duration=$(awk -v s="$seconds" -v f="$SCALE" 'BEGIN { d = int(s * f + 0.5); print (d < 1 ? 1 : d) }')
  threads=$(( conns < THREADS ? conns : THREADS ))
  out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 10s -s "$here/wrk-evaluate.lua" "$evaluate_base")
  line=$(grep '^RESULT ' <<<"$out") || { echo "$out"; echo "wrk-load-test: no RESULT line from wrk" >&2; exit 1; }
  declare -A r=()
  for kv in ${line#RESULT }; do r[${kv%%=*}]=${kv#*=}; done
  verdict=$(awk -v n="${r[requests]}" -v f="${r[failed]}" -v s="${r[socket_errors]}" -v p95="${r[p95_ms]}" -v p99="${r[p99_ms]}" \
    -v max95="$P95_MAX_MS" -v max99="$P99_MAX_MS" -v maxfail="$MAX_FAILURES_PERCENT" 'BEGIN {
    rate = n > 0 ? 100 * (f + s) / n : 100; bad = ""
    if (n == 0) bad = bad " no-requests"
    if (p95 >= max95) bad = bad " p95>=" max95 "ms"
    if (p99 >= max99) bad = bad " p99>=" max99 "ms"
    if (rate >= maxfail) bad = bad " failures>=" maxfail "%"
    printf "%.2f %s", rate, (bad == "" ? "ok" : "FAILED:" bad) }')
  printf '%-8s %6d %8d %9d %8s %8s %8s %8s  %s\n' "$name" "$conns" "$duration" "${r[requests]}" "${verdict%% *}" "${r[p50_ms]}" "${r[p95_ms]}" "${r[p99_ms]}" "${verdict#* }"
  [[ ${verdict#* } == ok ]] || failed=1
done
exit $failed
