#!/usr/bin/env bash
# make test-deploy: the Compose stack for real. Builds the five images (`build`, while
# scripts/docker-offline.sh pulls or stands in for the infrastructure images), brings the 9
# containers up (`up -d`, docker-compose.yml), waits until all are healthy and the one-shot
# init-cloud container has created the pipeline's queues and tables (exit 0), and checks:
#   - the seed's flow (scripts/seed-flow.sh) answers as the seed shows, through PostgreSQL;
#   - an API key made with the master key works (auth-service on PostgreSQL);
#   - the evaluation event is readable through analytics (GET /events) and, in the aws pipeline,
#     is in the DynamoDB table (so it went evaluation → SQS → analytics → DynamoDB);
#   - analytics restarted (SIGTERM) and then killed (SIGKILL) while evaluations keep coming: every
#     evaluation answered is stored exactly once;
#   - in the aws pipeline, init-cloud made the queue with its dead-letter queue and both tables,
#     and running it again changes nothing (idempotent);
#   - every container runs as a non-root user;
# then `down -v`, also when a check fails or the script is interrupted. Prints what each phase took.
#
# It runs the stack in two modes, each from scratch:
#   aws     docker-compose.yml as it is: CLOUD_PROVIDER=aws, events through LocalStack's SQS and DynamoDB
#   direct  plus tests/deploy/compose-direct.yml: events over HTTP to analytics (the embedded default)
# TEST_DEPLOY_MODES="direct" (or "aws") runs one. Needs root; Docker Hub is not needed
# (scripts/docker-offline.sh). Host ports: the seed's (8001-8005, 5433, 5434, 6379, 4566), or free
# ones for those already taken. A dockerd this script had to start is stopped at the end
# (KEEP_DOCKERD=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."

modes=${TEST_DEPLOY_MODES:-aws direct}
project=${TEST_DEPLOY_PROJECT:-togglemaster-test-deploy}
key=${SERVICE_API_KEY:-tm_key_service_internal_dev}
master_key=${MASTER_KEY:-master-key-local-dev}
load_max=${TEST_DEPLOY_LOAD_MAX:-6000}       # evaluations at most in the restart phase (~200/s)
store_wait=${TEST_DEPLOY_STORE_WAIT:-150}    # seconds for every event to be stored after it
work=$(mktemp -d)
failures=()
started=$(date +%s)
phase_started=$started

say() { echo "test-deploy: $*"; }
fail() { echo "FAIL: $*"; failures+=("$mode: $*"); }
pass() { echo "ok: $*"; }
phase() {  # prints how long the previous phase took
  local now
  now=$(date +%s)
  say "[$((now - phase_started)) s] $*"
  phase_started=$now
}

# --- the engine, and the base images Docker Hub would give ---------------------------------------
engine_was_running=true
docker info >/dev/null 2>&1 || engine_was_running=false
export DOCKERD_PIDFILE=${DOCKERD_PIDFILE:-/run/togglemaster-dockerd.pid}
scripts/docker-offline.sh --base

if docker compose version >/dev/null 2>&1; then
  compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose_cmd=(docker-compose)
else
  say "neither 'docker compose' nor 'docker-compose': run scripts/install-deps.sh --deploy" >&2
  exit 1
fi
say "using $("${compose_cmd[@]}" version --short 2>/dev/null || "${compose_cmd[@]}" version | sed -n 1p) ($(command -v "${compose_cmd[0]}"))"
compose_files=(-f docker-compose.yml)
compose() { "${compose_cmd[@]}" -p "$project" "${compose_files[@]}" "$@"; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n ${load_pid:-} ]]; then kill "$load_pid" 2>/dev/null || true; fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  if ! $engine_was_running && [[ -z ${KEEP_DOCKERD:-} && -f $DOCKERD_PIDFILE ]]; then
    kill "$(cat "$DOCKERD_PIDFILE")" 2>/dev/null || true
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 || break; sleep 0.5; done
    rm -f "$DOCKERD_PIDFILE"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- host ports: the seed's, unless taken when a stack starts ------------------------------------
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 30000))
    port_taken "$port" || { echo "$port"; return; }
  done
}
port_defaults=(TM_AUTH_PORT:8001 TM_FLAG_PORT:8002 TM_TARGETING_PORT:8003 TM_EVALUATION_PORT:8004
               TM_ANALYTICS_PORT:8005 TM_POSTGRES_AUTH_PORT:5433 TM_POSTGRES_APPS_PORT:5434
               TM_REDIS_PORT:6379 TM_LOCALSTACK_PORT:4566)
declare -A ports_given
for entry in "${port_defaults[@]}"; do
  var=${entry%%:*}
  if [[ -n ${!var:-} ]]; then ports_given[$var]=1; fi
done
choose_ports() {  # right before a stack starts: the seed's port, or a free one if it is taken
  local entry var port
  for entry in "${port_defaults[@]}"; do
    var=${entry%%:*} port=${entry##*:}
    [[ -n ${ports_given[$var]:-} ]] && continue
    if port_taken "$port"; then port=$(free_port); say "port ${entry##*:} is taken: $var=$port"; fi
    export "$var=$port"
  done
  auth=http://127.0.0.1:$TM_AUTH_PORT
  flag=http://127.0.0.1:$TM_FLAG_PORT
  targeting=http://127.0.0.1:$TM_TARGETING_PORT
  evaluation=http://127.0.0.1:$TM_EVALUATION_PORT
  analytics=http://127.0.0.1:$TM_ANALYTICS_PORT
  localstack=http://127.0.0.1:$TM_LOCALSTACK_PORT
}
compose down -v --remove-orphans >/dev/null 2>&1 || true   # what an interrupted run left
phase "engine and base images ready"

# --- the images: the services' built while the infrastructure's are pulled or stood in for ------
scripts/docker-offline.sh --infra >"$work/infra.log" 2>&1 &
infra_pid=$!
if ! compose build >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log"
  say "building the images failed" >&2
  exit 1
fi
if ! wait "$infra_pid"; then
  cat "$work/infra.log"
  say "the infrastructure images are missing" >&2
  exit 1
fi
cat "$work/infra.log"
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' |
  grep -E "^${project}[-_]|^(postgres|redis|localstack/localstack|debian):" | sed 's/^/  image /'
phase "images built"

# --- helpers ------------------------------------------------------------------------------------
# Containers are found by Compose's labels with docker itself: a Compose v1 call costs seconds on
# a loaded machine.
container() {  # SERVICE: its container's id, stopped or not
  docker ps -aq --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1"
}

# The one-shot service of docker-compose.yml: it creates the pipeline's resources and exits 0.
one_shot=init-cloud

# states: "SERVICE STATUS EXIT-CODE HEALTH" for every container of the stack, stopped ones included.
states() {
  docker ps -aq --filter "label=com.docker.compose.project=$project" |
    xargs -r docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}'
}

wait_healthy() {  # the 9 long-running containers healthy and init-cloud exited 0, within 300 s
  local deadline=$((SECONDS + 300)) line healthy waiting initialised
  while true; do
    healthy=0
    waiting=()
    initialised=false
    while read -r line; do
      [[ -n $line ]] || continue
      case $line in
        "$one_shot exited 0"*) initialised=true ;;
        "$one_shot exited "*)
          fail "$one_shot failed (${line#"$one_shot "}): it could not create the pipeline's queues and tables"
          compose logs "$one_shot"
          return 1
          ;;
        *" running 0 healthy") healthy=$((healthy + 1)) ;;
        *) waiting+=("$line") ;;
      esac
    done <<<"$(states)"
    if ((healthy == 9 && ${#waiting[@]} == 0)) && $initialised; then return 0; fi
    if ((SECONDS > deadline)); then
      fail "not all 9 containers healthy (and $one_shot done) after 300 s: $healthy healthy; ${waiting[*]:-}"
      compose ps
      compose logs --tail=30
      return 1
    fi
    sleep 2
  done
}

events_of() {  # FLAG: the events analytics has stored for it (a JSON array), or nothing
  curl -fsS --max-time 10 "$analytics/events?flag_name=$1&limit=10000" -H "Authorization: $key" 2>/dev/null || true
}

# dynamodb TARGET JSON: a call to LocalStack's DynamoDB from the host, signed as the services sign.
dynamodb() {
  curl -fsS --max-time 10 -X POST "$localstack/" --aws-sigv4 "aws:amz:us-east-1:dynamodb" --user test:test \
    -H 'Content-Type: application/x-amz-json-1.0' -H "X-Amz-Target: DynamoDB_20120810.$1" --data-binary "$2"
}
sqs() {  # TARGET JSON: the same for LocalStack's SQS
  curl -fsS --max-time 10 -X POST "$localstack/" --aws-sigv4 "aws:amz:us-east-1:sqs" --user test:test \
    -H 'Content-Type: application/x-amz-json-1.0' -H "X-Amz-Target: AmazonSQS.$1" --data-binary "$2"
}
dynamodb_items_of() {  # FLAG: the table's items for it, as {user_id, event_id} objects
  dynamodb Scan "{\"TableName\":\"EvaluationEvents\",\"FilterExpression\":\"flag_name = :f\",
    \"ExpressionAttributeValues\":{\":f\":{\"S\":\"$1\"}}}" 2>/dev/null |
    jq -c '[.Items[]? | {user_id: .user_id.S, event_id: .event_id.S}]' 2>/dev/null || true
}

# evaluations FIRST LAST: GET /evaluate for users load-FIRST … load-LAST on flag deploy-load, in
# one curl (one connection); prints one HTTP status per evaluation.
evaluations() {
  local args=() i
  for ((i = $1; i <= $2; i++)); do
    args+=(-o /dev/null "$evaluation/evaluate?user_id=load-$i&flag_name=deploy-load")
  done
  curl -s --max-time 30 -w '%{http_code}\n' "${args[@]}" || true
}

# --- the checks, once per mode ------------------------------------------------------------------
check_seed_flow() {
  local flow
  flow=$(FLAG_URL=$flag TARGETING_URL=$targeting EVALUATION_URL=$evaluation ANALYTICS_URL=$analytics \
         SERVICE_API_KEY=$key scripts/seed-flow.sh 2>&1) || true
  echo "$flow" | sed 's/^/  | /'
  grep -q '"name":"test-checkout"' <<<"$flow" && pass "flag created" || fail "seed flow: flag not created"
  grep -q '"rules":{"type":"PERCENTAGE","value":100}' <<<"$flow" && pass "rule created" || fail "seed flow: rule not created"
  grep -qx '{"flag_name":"test-checkout","user_id":"user-123","result":true}' <<<"$flow" &&
    pass "evaluate answers as the seed shows" || fail "seed flow: evaluate did not answer result true"

  local events='' deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    events=$(events_of test-checkout)
    [[ $(jq 'map(select(.user_id == "user-123")) | length' <<<"${events:-[]}" 2>/dev/null) -ge 1 ]] && break
    sleep 1
  done
  [[ $(jq 'map(select(.user_id == "user-123")) | length' <<<"${events:-[]}" 2>/dev/null) -eq 1 ]] &&
    pass "the event is stored once, readable through analytics (GET /events)" ||
    fail "the evaluation event did not reach analytics' GET /events within 30 s (got: ${events:-no answer})"

  if [[ $mode == aws ]]; then
    local items='' deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
      items=$(dynamodb_items_of test-checkout)
      [[ $(jq 'length' <<<"${items:-[]}") -ge 1 ]] && break
      sleep 1
    done
    [[ $(jq 'map(select(.user_id == "user-123")) | length' <<<"${items:-[]}") -eq 1 ]] &&
      pass "the event is in DynamoDB (table EvaluationEvents): it went through SQS and analytics" ||
      fail "the evaluation event is not in LocalStack's DynamoDB table EvaluationEvents after 30 s (items: ${items:-none})"
  fi
}

# What init-cloud made (aws mode): the services' queue with a redrive policy to its dead-letter
# queue, the events table with its indexes, the counts table; and a second run changes nothing.
check_init_cloud() {
  local id log tables indexes redrive
  id=$(container "$one_shot")
  log=$(docker logs "$id" 2>&1)
  echo "$log" | sed 's/^/  | /'
  tables=$(dynamodb ListTables '{}' | jq -c '.TableNames' 2>/dev/null || true)
  indexes=$(dynamodb DescribeTable '{"TableName":"EvaluationEvents"}' |
    jq -c '[.Table.GlobalSecondaryIndexes[]? | .IndexName]' 2>/dev/null || true)
  redrive=$(sqs GetQueueAttributes "{\"QueueUrl\":\"$localstack/000000000000/evaluation-events\",\"AttributeNames\":[\"RedrivePolicy\"]}" |
    jq -r '.Attributes.RedrivePolicy // empty' 2>/dev/null || true)
  if [[ $(jq 'index("EvaluationEvents") != null and index("EvaluationEvents-counts") != null' <<<"${tables:-[]}") == true &&
        $(jq 'length' <<<"${indexes:-[]}") -ge 1 && $redrive == *evaluation-events-dlq* ]]; then
    pass "init-cloud made the queue (dead letters: evaluation-events-dlq), EvaluationEvents (indexes $indexes) and EvaluationEvents-counts"
  else
    fail "init-cloud: tables ${tables:-none}, indexes of EvaluationEvents ${indexes:-none}, redrive policy ${redrive:-none}"
  fi
  # Once more, on what exists: it must succeed and create nothing.
  if log=$(docker start -a "$id" 2>&1) && ! grep -q '^init-cloud: created' <<<"$log"; then
    pass "init-cloud again: exit 0, nothing created (idempotent)"
  else
    echo "$log" | sed 's/^/  | /'
    fail "init-cloud run a second time failed or created something again"
  fi
}

check_api_key() {
  local created new_key
  created=$(curl -s --max-time 10 -X POST "$auth/admin/keys" -H "Authorization: $master_key" \
    -H 'Content-Type: application/json' -d '{"name":"test-deploy"}')
  new_key=$(jq -r '.key // empty' <<<"$created" 2>/dev/null)
  if [[ $new_key == tm_key_* ]] &&
     [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$flag/flags" -H "Authorization: Bearer $new_key") == 200 ]]; then
    pass "a key made with the master key opens flag-service"
  else
    fail "API key: POST /admin/keys answered ${created:-nothing}, or flag-service refused the new key"
  fi
}

check_restart_under_load() {
  curl -s -o /dev/null --max-time 10 -X POST "$flag/flags" -H "Authorization: $key" \
    -H 'Content-Type: application/json' -d '{"name":"deploy-load","is_enabled":true}'
  curl -s -o /dev/null --max-time 10 -X POST "$targeting/rules" -H "Authorization: $key" \
    -H 'Content-Type: application/json' -d '{"flag_name":"deploy-load","rules":{"type":"PERCENTAGE","value":100}}'
  local analytics_id codes=$work/codes.$mode stop=$work/stop.$mode
  analytics_id=$(container analytics-service)
  : >"$codes"
  rm -f "$stop"
  # The load: 20 evaluations every tenth of a second or so (~200/s, so that it lasts through both
  # restarts), until told to stop, and never more than load_max.
  (
    i=1
    while [[ ! -e $stop ]] && ((i <= load_max)); do
      evaluations "$i" $((i + 19)) >>"$codes"
      i=$((i + 20))
      sleep 0.1
    done
  ) &
  load_pid=$!
  sleep 2
  local before_restart after_restart at_kill
  before_restart=$(wc -l <"$codes")
  docker restart -t 20 "$analytics_id" >/dev/null
  after_restart=$(wc -l <"$codes")
  say "analytics restarted (SIGTERM): $before_restart evaluations before, $after_restart after"
  sleep 2
  docker kill "$analytics_id" >/dev/null
  at_kill=$(wc -l <"$codes")
  sleep 1
  docker start "$analytics_id" >/dev/null
  say "analytics killed (SIGKILL) after $at_kill evaluations, started again after $(wc -l <"$codes")"
  sleep 3
  touch "$stop"
  wait "$load_pid" || true
  load_pid=
  local answered total
  answered=$(grep -c '^200$' "$codes" || true)
  total=$(wc -l <"$codes")
  if ((answered != total)); then
    fail "evaluation answered $((total - answered)) of $total evaluations with an error while analytics restarted"
  fi
  if ((total >= load_max)) || ((after_restart == before_restart)); then
    fail "the load did not last through both restarts ($total evaluations; raise TEST_DEPLOY_LOAD_MAX)"
  fi
  say "$answered evaluations answered; waiting up to $store_wait s for every event to be stored"

  # Every answered evaluation (user load-N) stored exactly once: as many events as answers, one per
  # user, no event id twice.
  local events='' stored=0 deadline=$((SECONDS + store_wait))
  while ((SECONDS < deadline)); do
    events=$(events_of deploy-load)
    stored=$(jq '[.[] | select(.user_id | startswith("load-"))] | length' <<<"${events:-[]}" 2>/dev/null || echo 0)
    ((stored >= answered)) && break
    sleep 2
  done
  local users ids
  users=$(jq '[.[] | select(.user_id | startswith("load-")) | .user_id] | unique | length' <<<"${events:-[]}" 2>/dev/null || echo 0)
  ids=$(jq '[.[] | select(.user_id | startswith("load-")) | .event_id] | unique | length' <<<"${events:-[]}" 2>/dev/null || echo 0)
  if ((answered > 0 && stored == answered && users == answered && ids == answered)); then
    pass "analytics restarted and killed under load: all $answered events stored, each once"
  else
    fail "after analytics' restart under load: $answered evaluations answered, $stored events stored ($users users, $ids distinct event ids)"
  fi
  if [[ $mode == aws ]]; then
    local items count
    items=$(dynamodb_items_of deploy-load)
    count=$(jq 'length' <<<"${items:-[]}" 2>/dev/null || echo 0)
    ((count == answered)) && pass "DynamoDB holds the same $answered events" ||
      fail "DynamoDB holds $count events of flag deploy-load, not $answered"
  fi
}

check_non_root() {
  local service id uid users
  for service in $(compose config --services); do
    id=$(container "$service")
    if [[ $service == "$one_shot" ]]; then  # exited: nothing to list, but it ran as its image's user
      [[ $(docker inspect -f '{{.Config.User}}' "$id") == 10001:10001 ]] ||
        fail "$service: user $(docker inspect -f '{{.Config.User}}' "$id") (expected 10001:10001)"
      continue
    fi
    # Every process of the container, as the host sees it (docker top runs ps outside it).
    users=$(docker top "$id" -eo pid,uid | awk 'NR > 1 {print $2}' | sort -u | tr '\n' ' ')
    if [[ " $users" == *" 0 "* ]]; then
      if [[ $service == localstack ]] && [[ $(docker image inspect -f '{{index .Config.Labels "org.togglemaster.standin"}}' \
          "$(docker inspect -f '{{.Image}}' "$id")") != true ]]; then
        say "note: the real LocalStack image runs as root (processes' UIDs: $users); not ours to change"
      else
        fail "$service runs a process as root (UIDs: $users)"
      fi
      continue
    fi
    case $service in
      *-service)
        uid=$(docker exec "$id" id -u)
        [[ $uid == 10001 && $(docker inspect -f '{{.Config.User}}' "$id") == 10001:10001 ]] ||
          fail "$service: user $(docker inspect -f '{{.Config.User}}' "$id"), id -u $uid (expected 10001)"
        ;;
    esac
  done
  pass "no container runs a process as root (services as 10001)"
}

for mode in $modes; do
  case $mode in
    aws) compose_files=(-f docker-compose.yml) ;;
    direct) compose_files=(-f docker-compose.yml -f tests/deploy/compose-direct.yml) ;;
    *) say "unknown mode $mode (aws, direct)" >&2; exit 2 ;;
  esac
  say "=== mode $mode: ${compose_files[*]}"
  choose_ports
  up_ok=true
  if ! compose up -d >"$work/up.$mode.log" 2>&1; then
    # A port taken by someone else since choose_ports: once more, on other ports.
    if grep -q 'address already in use' "$work/up.$mode.log"; then
      compose down -v --remove-orphans >/dev/null 2>&1 || true
      choose_ports
      compose up -d >"$work/up.$mode.log" 2>&1 || up_ok=false
    else
      up_ok=false
    fi
  fi
  if ! $up_ok; then
    tail -n 40 "$work/up.$mode.log"
    compose logs --tail=30 "$one_shot" localstack
    fail "'up -d' failed"
  fi
  phase "$mode: stack started (up -d)"
  if $up_ok && wait_healthy; then
    phase "$mode: all 9 containers healthy, $one_shot done"
    compose ps
    if [[ $mode == aws ]]; then check_init_cloud; fi
    check_seed_flow
    check_api_key
    phase "$mode: seed flow checked"
    check_restart_under_load
    phase "$mode: restart under load checked"
    check_non_root
    phase "$mode: non-root checked"
  fi
  compose down -v --remove-orphans >/dev/null 2>&1
  phase "$mode: stack removed (down -v)"
done

elapsed=$(($(date +%s) - started))
echo
if ((${#failures[@]} == 0)); then
  say "all checks passed in $((elapsed / 60)) min $((elapsed % 60)) s (modes: $modes)"
else
  say "${#failures[@]} check(s) failed in $((elapsed / 60)) min $((elapsed % 60)) s:"
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
