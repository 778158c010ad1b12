#!/usr/bin/env bash
# `make bench`: builds in Release, starts the platform and a bare Beast server on free loopback
# ports, measures, stops everything and prints one table. Figures are ratios taken in this run;
# the machine is shared, so compare within a run, not across runs.
#
#   BENCH_SECONDS=10           length of each wrk run
#   BENCH_PIPELINE_SECONDS=60  length of each sustained event-pipeline run (direct on SQLite, direct
#                              on PostgreSQL, aws on the emulators)
#   BENCH_AWS_RATE=500         evaluations/s of the aws pipeline run: the emulators (local-aws-sqs
#                              and dynalite, single-threaded Node.js) store far less than evaluation
#                              serves, so that run is paced to what they keep up with
#   BENCH_DRAIN_MAX=600        seconds to wait for a pipeline to store what was served
#   BENCH_ONLY=flood           only the floods of unknown flag names (about two minutes)
#   BENCH_FLOOD_DELAY_MS="1000 100"  pauses of each of the flood's 4,000 connections between
#                              requests, one flood each: ~4,000 req/s, then as fast as the machine goes
#   BENCH_FLOOD_UNKNOWN=0      the same floods with the known flag: a control, load without lookups
# About 9 minutes in all on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BENCH_BUILD_DIR:-build-release}
SECONDS_EACH=${BENCH_SECONDS:-10}
PIPELINE_SECONDS=${BENCH_PIPELINE_SECONDS:-60}
AWS_RATE=${BENCH_AWS_RATE:-500}
DRAIN_MAX=${BENCH_DRAIN_MAX:-600}
ONLY=${BENCH_ONLY:-}
FLOOD_CONNS=4000
FLOOD_DELAYS_MS=${BENCH_FLOOD_DELAY_MS:-1000 100}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # wrk's 4,000 connections, and the services'

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOGGLE_BUILD_TESTS=OFF -DTOGGLE_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" >/dev/null
bin=$BUILD_DIR/bin

work=$(mktemp -d /tmp/toggle-bench-XXXXXX)
declare -A port pid
base=$((20000 + RANDOM % 12000))  # below the ephemeral ports (32768+) that wrk's connections take
i=0
for s in auth-service flag-service targeting-service evaluation-service analytics-service ceiling evaluation-2 redis \
  flag-pg-1 flag-pg-2 evaluation-pg-1 evaluation-pg-2 sqs dynamodb; do
  port[$s]=$((base + i)); i=$((i + 1))
done
url() { echo "http://127.0.0.1:${port[$1]}"; }
cleanup() {
  for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -f $work/pg/url ]] && tests/support/postgres.sh destroy "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME [VAR=value…]: the service NAME (a replica's name ends in -2, -pg-1, …), with settings.
start() {
  local s=$1 binary
  binary=$(sed -E 's/-(pg-)?[0-9]+$//; s/^evaluation$/evaluation-service/; s/^flag$/flag-service/' <<<"$s")
  shift
  # Every client of the bench comes from 127.0.0.1: no cap of connections per address.
  env PORT=${port[$s]} HOST=127.0.0.1 DATA_DIR=$work/$s LOG_LEVEL=warn HTTP_MAX_CONNECTIONS_PER_ADDRESS=0 REDIS_URL=redis://127.0.0.1:${port[redis]} \
    AUTH_SERVICE_URL=$(url auth-service) FLAG_SERVICE_URL=$(url flag-service) \
    TARGETING_SERVICE_URL=$(url targeting-service) ANALYTICS_SERVICE_URL=$(url analytics-service) "$@" \
    "$bin/$binary" >>"$work/$s.log" 2>&1 &
  pid[$s]=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null "$(url "$s")/health" && return; sleep 0.1; done
  echo "$s did not start"; cat "$work/$s.log"; exit 1
}
redis-server --port "${port[redis]}" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
pid[redis]=$!
for s in auth-service flag-service targeting-service analytics-service evaluation-service; do start "$s"; done
"$bin/ceiling_server" "${port[ceiling]}" >"$work/ceiling.log" 2>&1 &
pid[ceiling]=$!
"$bin/platform_bench" setup "$(url flag-service)" "$(url targeting-service)"
for _ in $(seq 1 100); do curl -sf -o /dev/null "$(url evaluation-service)/ready" && break; sleep 0.1; done

# wrk: prints "rps p50_ms p99_ms non2xx"
run_wrk() {
  local target=$1 conns=$2 secs=$3
  local out
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/evaluate.lua "$target" 2>&1)
  local rps p50 p99 bad
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  bad=$(awk '/Non-2xx/ { print $5 }' <<<"$out")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") ${bad:-0} $(awk '/requests in/ { print $1 }' <<<"$out")"
}
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); n = v + 0;
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; printf "%.3f", n }'; }
mean() { awk '{ s += $1 } END { printf "%.0f", s / NR }'; }

# /evaluate p99 for a known flag, paced (64 connections, about 10 ms apart each), alone (the mean
# of a run before and a run after, as background work may come and go) and during a flood of
# unknown flag names from FLOOD_CONNS connections, each pausing $1 ms between requests, which
# bounded lookups refuse (503 too_many_lookups) rather than queue; and evaluation's resident memory
# before and after the flood. Prints its table rows; $2 is the p99 row's target.
# The flood's sender runs at idle CPU priority: in production it is other machines, while here it
# shares the platform's 2 cores and, at full speed, would slow the platform down whatever the
# platform did (the control, BENCH_FLOOD_UNKNOWN=0, shows the same slowdown with no lookups).
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/${pid[evaluation-service]}/status"; }
flood_row() {
  local delay=$1 target=$2
  echo "== /evaluate p99 under a flood of unknown flag names from $FLOOD_CONNS connections, $delay ms apart" >&2
  local quiet quiet_after flooded refused0 flood_pid flood_rss0 flood_rss1 flood_refused flood_rps
  local quiet_p99 quiet_after_p99 flood_quiet_p99 flood_p99 flood_bad
  quiet=$(BENCH_DELAY_MS=10 run_wrk "$(url evaluation-service)" 64 "$SECONDS_EACH")
  flood_rss0=$(rss_mib)
  refused0=$(metric evaluation-service flag_lookups_refused_total)
  BENCH_UNKNOWN=${BENCH_FLOOD_UNKNOWN:-1} BENCH_DELAY_MS=$delay chrt --idle 0 wrk -t2 -c"$FLOOD_CONNS" \
    -d"$((SECONDS_EACH + 4))s" -s bench/evaluate.lua "$(url evaluation-service)" >"$work/flood.log" 2>&1 &
  flood_pid=$!
  sleep 2  # every flood connection open
  flooded=$(BENCH_DELAY_MS=10 run_wrk "$(url evaluation-service)" 64 "$SECONDS_EACH")
  wait "$flood_pid" || true
  flood_rss1=$(rss_mib)
  flood_refused=$(( $(metric evaluation-service flag_lookups_refused_total) - refused0 ))
  flood_rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/flood.log")
  quiet_after=$(BENCH_DELAY_MS=10 run_wrk "$(url evaluation-service)" 64 "$SECONDS_EACH")
  read -r _ _ quiet_p99 _ _ <<<"$quiet"
  read -r _ _ quiet_after_p99 _ _ <<<"$quiet_after"
  flood_quiet_p99=$(awk -v a="$quiet_p99" -v b="$quiet_after_p99" 'BEGIN { printf "%.3f", (a + b) / 2 }')
  read -r _ _ flood_p99 flood_bad _ <<<"$flooded"
  printf '| %-44s | %-16s | %-12s |\n' "/evaluate p99, quiet → flood ($delay ms apart)" \
    "$(printf '%s → %s ms = %s×' "$flood_quiet_p99" "$flood_p99" "$(ratio "$flood_p99" "$flood_quiet_p99")")" "$target"
  printf '| %-44s | %-16s | %-12s |\n' "… flood: req/s, refused 503, known non-2xx" \
    "$flood_rps, $flood_refused, $flood_bad" ""
  printf '| %-44s | %-16s | %-12s |\n' "… evaluation RSS before → after the flood" "$flood_rss0 → $flood_rss1 MiB" "bounded"
}
# Every flood of FLOOD_DELAYS_MS: the first against the 2× target, faster ones for reference.
flood_rows() {
  local target="≤ 2×" delay
  for delay in $FLOOD_DELAYS_MS; do
    flood_row "$delay" "$target"
    target="(reference)"
  done
}
metric() { curl -s "$(url "$1")/metrics" | awk -v n="$2" '$1 == n { printf "%d", $2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
if [[ $ONLY == flood ]]; then
  rows=$(flood_rows)
  printf '\n| measurement                                  | value            | target       |\n'
  printf '|----------------------------------------------|------------------|--------------|\n%s\n' "$rows"
  exit 0
fi

echo "== evaluator micro-benchmarks" >&2
micro=$("$bin/evaluator_bench" --benchmark_min_time=0.5 2>/dev/null)
ns() { awk -v n="$1" '$1 == n { print $2; exit }' <<<"$micro"; }

declare -A rps p50 p99
for conns in 64 256; do
  echo "== wrk, $conns connections (ceiling and evaluate interleaved)" >&2
  ceil_runs=() eval_runs=()
  for round in 1 2; do
    ceil_runs+=("$(run_wrk "$(url ceiling)" "$conns" "$SECONDS_EACH")")
    eval_runs+=("$(run_wrk "$(url evaluation-service)" "$conns" "$SECONDS_EACH")")
  done
  for kind in ceil eval; do
    declare -n runs=${kind}_runs
    rps[$kind$conns]=$(printf '%s\n' "${runs[@]}" | awk '{ print $1 }' | mean)
    p50[$kind$conns]=$(printf '%s\n' "${runs[@]}" | awk '{ s += $2 } END { printf "%.3f", s / NR }')
    p99[$kind$conns]=$(printf '%s\n' "${runs[@]}" | awk '{ s += $3 } END { printf "%.3f", s / NR }')
  done
done

# OFREP single flag (BENCH_OFREP=1), interleaved with /evaluate at 64 connections: its ratio to
# /evaluate is taken from these rounds only.
echo "== wrk, 64 connections (/evaluate and OFREP single flag interleaved)" >&2
ofrep_runs=() eval_ofrep_runs=()
for round in 1 2; do
  eval_ofrep_runs+=("$(run_wrk "$(url evaluation-service)" 64 "$SECONDS_EACH")")
  ofrep_runs+=("$(BENCH_OFREP=1 run_wrk "$(url evaluation-service)" 64 "$SECONDS_EACH")")
done
ofrep_rps=$(printf '%s\n' "${ofrep_runs[@]}" | awk '{ print $1 }' | mean)
eval_ofrep_rps=$(printf '%s\n' "${eval_ofrep_runs[@]}" | awk '{ print $1 }' | mean)
ofrep_p99=$(printf '%s\n' "${ofrep_runs[@]}" | awk '{ s += $3 } END { printf "%.3f", s / NR }')
ofrep_bad=$(printf '%s\n' "${ofrep_runs[@]}" | awk '{ s += $4 } END { print s }')

# Paced runs at half the maximum evaluation rate: each connection waits BENCH_DELAY_MS between
# requests, so rate ≈ connections × 1000 / (delay + latency).
half=$(( ${rps[eval64]} / 2 ))
delay_ms=2
conns=$(( (half * 23 + 9999) / 10000 ))   # delay 2 ms + ~0.3 ms latency
wait_pipeline_idle() {
  local last=-1 now
  for _ in $(seq 1 600); do
    now=$("$bin/platform_bench" count "$(url analytics-service)" bench-flag | cut -d= -f2)
    [[ $now == "$last" ]] && { echo "$now"; return; }
    last=$now; sleep 1
  done
  echo "$now"
}
echo "== latency at half the maximum rate (~$half/s), ceiling and evaluate" >&2
before=$(wait_pipeline_idle)
read -r ceil_half_rps ceil_half_p50 ceil_half_p99 _ _ < <(BENCH_DELAY_MS=$delay_ms run_wrk "$(url ceiling)" "$conns" "$SECONDS_EACH")
read -r half_rps half_p50 half_p99 _ _ < <(BENCH_DELAY_MS=$delay_ms run_wrk "$(url evaluation-service)" "$conns" "$SECONDS_EACH")

stored_count() { "$bin/platform_bench" count "$(url analytics-service)" bench-flag | cut -d= -f2; }
# run_pipeline CONNS DELAY_MS: PIPELINE_SECONDS of paced /evaluate, then waits until analytics has
# stored every event served (at most DRAIN_MAX s). Prints: served, evaluations/s, events sent/s and
# stored/s during the run, seconds to drain after it, events stored. Served = evaluations the
# service answered (its own count: wrk drops replies in flight at its end); sent = events the
# transport took (analytics' POST /events, or SQS).
run_pipeline() {
  local stored0 emitted0 delivered0 rps served sent stored_now stored drained
  stored0=$(stored_count) emitted0=$(metric evaluation-service events_emitted_total)
  delivered0=$(metric evaluation-service events_delivered_total)
  read -r rps _ _ _ _ < <(BENCH_DELAY_MS=$2 run_wrk "$(url evaluation-service)" "$1" "$PIPELINE_SECONDS")
  served=$(( $(metric evaluation-service events_emitted_total) - emitted0 ))
  sent=$(( $(metric evaluation-service events_delivered_total) - delivered0 ))
  stored_now=$(( $(stored_count) - stored0 ))
  local t0=$SECONDS
  stored=$stored_now
  while (( stored < served && SECONDS - t0 < DRAIN_MAX )); do sleep 1; stored=$(( $(stored_count) - stored0 )); done
  drained=$(( stored >= served ? SECONDS - t0 : -1 ))
  echo "$served $rps $(( sent / PIPELINE_SECONDS )) $(( stored_now / PIPELINE_SECONDS )) $drained $stored"
}
pipeline_row() {  # LABEL served rps sent/s stored/s drained stored
  printf '| %-44s | %9s | %9.0f | %9s | %9s | %12s | %s / %s = %s |\n' "$1" "$2" "$3" "$4" "$5" \
    "$( (( $6 < 0 )) && echo "not in ${DRAIN_MAX} s" || echo "$6 s")" "$7" "$2" \
    "$(awk -v a="$7" -v b="$2" 'BEGIN { printf "%.3f", a / b }')"
}

echo "== event pipeline (direct, SQLite): ${PIPELINE_SECONDS} s at half the maximum rate" >&2
wait_pipeline_idle >/dev/null
read -r served pipe_rps sqlite_sent sqlite_stored sqlite_drain stored < <(run_pipeline "$conns" "$delay_ms")
dropped=$(metric evaluation-service events_dropped_total)

echo "== kill-switch propagation (50 toggles), one replica, then two replicas sharing Redis" >&2
prop=$("$bin/platform_bench" propagation "$(url flag-service)" "$(url evaluation-service)" 50)
prop_p50=$(grep p50 <<<"$prop" | cut -d= -f2) prop_p99=$(grep p99 <<<"$prop" | cut -d= -f2)
start evaluation-2
prop2=$("$bin/platform_bench" propagation "$(url flag-service)" "$(url evaluation-service),$(url evaluation-2)" 50)
prop2_p50=$(grep p50 <<<"$prop2" | cut -d= -f2) prop2_p99=$(grep p99 <<<"$prop2" | cut -d= -f2)

# Production mode: two flag-service replicas on one PostgreSQL (started here, as the tests do),
# each followed by its own evaluation replica, both sharing Redis; toggles alternate between the
# flag replicas, and each counts once every evaluation replica answers it.
echo "== kill-switch propagation across replicas on PostgreSQL (50 toggles)" >&2
mkdir -p "$work/pg"
tests/support/postgres.sh init "$work/pg" >/dev/null
pg=$(cat "$work/pg/url")
psql -q "$pg/postgres" -c "CREATE DATABASE flags_db" >/dev/null
start flag-pg-1 DATABASE_URL="$pg/flags_db"
start flag-pg-2 DATABASE_URL="$pg/flags_db"
# Redis database 1: these replicas are another platform (another flags database) than the ones above.
start evaluation-pg-1 FLAG_SERVICE_URL="$(url flag-pg-1)" REDIS_URL="redis://127.0.0.1:${port[redis]}/1"
start evaluation-pg-2 FLAG_SERVICE_URL="$(url flag-pg-2)" REDIS_URL="redis://127.0.0.1:${port[redis]}/1"
"$bin/platform_bench" setup "$(url flag-pg-1)" "$(url targeting-service)"
prop3=$("$bin/platform_bench" propagation "$(url flag-pg-1),$(url flag-pg-2)" "$(url evaluation-pg-1),$(url evaluation-pg-2)" 50)
prop3_p50=$(grep p50 <<<"$prop3" | cut -d= -f2) prop3_p99=$(grep p99 <<<"$prop3" | cut -d= -f2)

echo "== resident memory with 10,000 flags" >&2
"$bin/platform_bench" load-flags "$(url flag-service)" "$(url targeting-service)" "$(url evaluation-service)" 10000
kill -TERM "${pid[evaluation-service]}"; wait "${pid[evaluation-service]}" || true
start evaluation-service
for _ in $(seq 1 300); do curl -sf -o /dev/null "$(url evaluation-service)/ready" && break; sleep 0.1; done
sleep 1
rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/${pid[evaluation-service]}/status")
flags_loaded=$(curl -s "$(url evaluation-service)/metrics" | awk '$1 == "evaluation_flags_loaded" { print $2 }')
flood_rows=$(flood_rows)

# The pipeline on PostgreSQL: analytics (direct) storing into the PostgreSQL started above.
echo "== event pipeline (direct, PostgreSQL): ${PIPELINE_SECONDS} s at half the maximum rate" >&2
psql -q "$pg/postgres" -c "CREATE DATABASE analytics_db" >/dev/null
stop_service() { kill -TERM "${pid[$1]}"; wait "${pid[$1]}" || true; }
stop_service analytics-service
start analytics-service DATABASE_URL="$pg/analytics_db"
read -r pg_served pg_rps pg_sent pg_stored pg_drain pg_total < <(run_pipeline "$conns" "$delay_ms")

# The aws pipeline on the emulators, each in a Node.js process of its own. First /evaluate at its
# maximum rate with evaluation sending to SQS (against the direct mode's, above); then, on fresh
# emulators, the paced run.
echo "== aws pipeline (SQS + DynamoDB emulators): /evaluate at the maximum rate, then ${PIPELINE_SECONDS} s at ${AWS_RATE}/s" >&2
start_emulators() {
  local kind
  for kind in sqs dynamodb; do
    node tests/support/aws-emulators.mjs --only "$kind" --"$kind" "${port[$kind]}" --max-seconds 3600 \
      >"$work/$kind.json" 2>>"$work/$kind.log" &
    pid[$kind]=$!
    for _ in $(seq 1 100); do grep -q '"pid"' "$work/$kind.json" 2>/dev/null && break; sleep 0.1; done
  done
}
aws_env=(CLOUD_PROVIDER=aws AWS_REGION=us-east-1 AWS_ENDPOINT_URL_SQS="$(url sqs)" AWS_ENDPOINT_URL_DYNAMODB="$(url dynamodb)"
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_SQS_URL="$(url sqs)/000000000000/bench-events"
  AWS_DYNAMODB_TABLE=BenchEvents ANALYTICS_RECEIVE_WAIT_MS=1000)
start_aws() {
  start_emulators
  env "${aws_env[@]}" ANALYTICS_SERVICE_BIN="$bin/analytics-service" scripts/init-cloud.sh aws >"$work/init-cloud.log"
  start analytics-service "${aws_env[@]}"
  start evaluation-service "${aws_env[@]}"
  for _ in $(seq 1 300); do curl -sf -o /dev/null "$(url evaluation-service)/ready" && break; sleep 0.1; done
}
stop_aws() {
  stop_service evaluation-service
  stop_service analytics-service
  stop_service sqs
  stop_service dynamodb
  rm -rf "$work/evaluation-service/evaluation-spool"  # events of the maximum-rate run: not measured
}
stop_service evaluation-service
stop_service analytics-service
start_aws
read -r aws_max_rps _ _ _ _ < <(run_wrk "$(url evaluation-service)" 64 "$SECONDS_EACH")
stop_aws
start_aws
aws_delay=20
aws_conns=$(( (AWS_RATE * 203 + 9999) / 10000 ))  # delay 20 ms + ~0.3 ms latency
read -r aws_served aws_rps aws_sent aws_stored aws_drain aws_total < <(run_pipeline "$aws_conns" "$aws_delay")
aws_dropped=$(metric evaluation-service events_dropped_total)
aws_duplicates=$(metric analytics-service analytics_events_duplicate_total)

cpu=$(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | sed 's/^ *//')
cat <<TABLE

ToggleMaster bench — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($cpu), wrk -t2, ${SECONDS_EACH} s runs

| measurement                                  | value            | target       |
|----------------------------------------------|------------------|--------------|
| evaluator: static flag                       | $(printf '%8s ns/op' "$(ns BM_EvaluateStaticFlag)") |              |
| evaluator: PERCENTAGE rule                   | $(printf '%8s ns/op' "$(ns BM_EvaluatePercentage)") | ≤ 200 ns     |
| evaluator: USER_LIST of 1,000                | $(printf '%8s ns/op' "$(ns BM_EvaluateUserList1000)") |              |
| evaluator: flag not found                    | $(printf '%8s ns/op' "$(ns BM_EvaluateFlagNotFound)") |              |
| resolve: 10 rules × 5 conditions (regex, semver) | $(printf '%8s ns/op' "$(ns BM_ResolveTenRulesFiveConditions)") | ≤ 1,000 ns |
| ceiling (bare Beast), 64 conns               | $(printf '%9s req/s' "${rps[ceil64]}") |              |
| /evaluate, 64 conns                          | $(printf '%9s req/s' "${rps[eval64]}") |              |
| evaluate ÷ ceiling, 64 conns                 | $(printf '%15s' "$(ratio "${rps[eval64]}" "${rps[ceil64]}")") | ≥ 0.80       |
| /evaluate p50 / p99, 64 conns (max rate)     | $(printf '%6s / %6s ms' "${p50[eval64]}" "${p99[eval64]}") |              |
| ceiling (bare Beast), 256 conns              | $(printf '%9s req/s' "${rps[ceil256]}") |              |
| /evaluate, 256 conns                         | $(printf '%9s req/s' "${rps[eval256]}") |              |
| evaluate ÷ ceiling, 256 conns                | $(printf '%15s' "$(ratio "${rps[eval256]}" "${rps[ceil256]}")") |              |
| /evaluate p50 / p99, 256 conns (max rate)    | $(printf '%6s / %6s ms' "${p50[eval256]}" "${p99[eval256]}") |              |
| OFREP single flag, 64 conns (non-2xx)        | $(printf '%9s req/s (%s)' "$ofrep_rps" "$ofrep_bad") |              |
| OFREP ÷ /evaluate, 64 conns (same rounds)    | $(printf '%s / %s = %s' "$ofrep_rps" "$eval_ofrep_rps" "$(ratio "$ofrep_rps" "$eval_ofrep_rps")") | ≥ 0.80       |
| OFREP single flag p99, 64 conns (max rate)   | $(printf '%9s ms' "$ofrep_p99") |              |
| OFREP bulk, 100 flags: parse, resolve, write | $(printf '%8s ns/op' "$(ns BM_BulkRequest100Flags)") | ≤ 50,000 ns  |
| ceiling at the same pace ($ceil_half_rps req/s): p50 / p99 | $(printf '%6s / %6s ms' "$ceil_half_p50" "$ceil_half_p99") |              |
| /evaluate at half max ($half_rps req/s): p50 / p99 | $(printf '%6s / %6s ms' "$half_p50" "$half_p99") | p99 ≤ 1 ms   |
| pipeline: evaluations/s over ${PIPELINE_SECONDS} s          | $(printf '%9s' "$pipe_rps")        |              |
| pipeline: events stored/s                    | $(printf '%9s' "$sqlite_stored")        |              |
| pipeline: stored ÷ served                    | $(printf '%s / %s = %s' "$stored" "$served" "$(awk -v a="$stored" -v b="$served" 'BEGIN { printf "%.3f", a / b }')") | 1.000        |
| events dropped (whole run)                   | $(printf '%9s' "${dropped:-0}")        | 0            |
| kill-switch propagation p50 / p99 (50)       | $(printf '%6.2f / %6.2f ms' "$prop_p50" "$prop_p99") | p99 ≤ 250 ms |
| … to both of 2 replicas (Redis) p50 / p99    | $(printf '%6.2f / %6.2f ms' "$prop2_p50" "$prop2_p99") | p99 ≤ 250 ms |
| … PostgreSQL, 2 flag + 2 evaluation replicas | $(printf '%6.2f / %6.2f ms' "$prop3_p50" "$prop3_p99") | p99 ≤ 250 ms |
| evaluation RSS with $flags_loaded flags          | $(printf '%9.1f MiB' "$(awk -v k="$rss_kib" 'BEGIN { print k / 1024 }')") | ≤ 50 MiB     |
$flood_rows

Event pipelines, ${PIPELINE_SECONDS} s each (sent/s and stored/s during the run; then the wait until every event
served is stored; target stored ÷ served = 1.000)

| pipeline                                     | served    | evals/s   | sent/s    | stored/s  | drained after | stored ÷ served |
|----------------------------------------------|-----------|-----------|-----------|-----------|--------------|-----------------|
$(pipeline_row "direct, SQLite (half max rate)" "$served" "$pipe_rps" "$sqlite_sent" "$sqlite_stored" "$sqlite_drain" "$stored")
$(pipeline_row "direct, PostgreSQL (half max rate)" "$pg_served" "$pg_rps" "$pg_sent" "$pg_stored" "$pg_drain" "$pg_total")
$(pipeline_row "aws, SQS + DynamoDB emulators (${AWS_RATE}/s)" "$aws_served" "$aws_rps" "$aws_sent" "$aws_stored" "$aws_drain" "$aws_total")

| measurement                                  | value            | target       |
|----------------------------------------------|------------------|--------------|
| /evaluate max rate, aws ÷ direct (64 conns)  | $(printf '%s / %s = %s' "$aws_max_rps" "${rps[eval64]}" "$(ratio "$aws_max_rps" "${rps[eval64]}")") | ≥ 0.90 |
| aws run: events dropped / duplicates skipped | $(printf '%s / %s' "${aws_dropped:-0}" "${aws_duplicates:-0}") | 0 dropped |
TABLE
