#!/usr/bin/env bash
# Starts the five services on 8001-8005 with their data under $DATA_DIR (default ./data), waits
# until all answer /health, prints where they are, and stops them on Ctrl-C or SIGTERM. A service
# that exits is reported, not restarted; the others keep running. Restart one by hand with
# `DATA_DIR=./data build/bin/<service>`.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export DATA_DIR=${DATA_DIR:-./data}
export MASTER_KEY=${MASTER_KEY:-master-key-local-dev}
export SERVICE_API_KEY=${SERVICE_API_KEY:-tm_key_service_internal_dev}
services=(auth-service:8001 flag-service:8002 targeting-service:8003 evaluation-service:8004 analytics-service:8005)
mkdir -p "$DATA_DIR/logs"

declare -A pids
stop_all() {  # exit status: $1 (0 after Ctrl-C or SIGTERM)
  trap - INT TERM
  echo; echo "stopping..."
  for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null; done
  for name in "${!pids[@]}"; do wait "${pids[$name]}" 2>/dev/null; done
  echo "stopped"
  exit "${1:-0}"
}
trap stop_all INT TERM

# Refuse to start (exit 1) when a port is taken, saying which and, when ss can tell, by what.
taken=0
for entry in "${services[@]}"; do
  name=${entry%%:*} port=${entry##*:}
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    owner=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'users:(([^)]*))' | sed -n 1p | sed 's/users:((//; s/))//')
    echo "port $port (for $name) is already in use${owner:+ by $owner} -- is ToggleMaster already running?" >&2
    taken=1
  fi
done
[[ $taken -eq 0 ]] || exit 1

for entry in "${services[@]}"; do
  name=${entry%%:*} port=${entry##*:}
  PORT=$port "$BUILD_DIR/bin/$name" >>"$DATA_DIR/logs/$name.log" 2>&1 &
  pids[$name]=$!
done

for entry in "${services[@]}"; do
  name=${entry%%:*} port=${entry##*:}
  for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "http://localhost:$port/health" && break
    if ! kill -0 "${pids[$name]}" 2>/dev/null; then
      echo "$name failed to start; the end of $DATA_DIR/logs/$name.log:" >&2
      tail -n 20 "$DATA_DIR/logs/$name.log" >&2
      stop_all 1
    fi
    sleep 0.1
  done
done

cat <<MSG
ToggleMaster is running (data in $DATA_DIR, logs in $DATA_DIR/logs/):
  auth-service        http://localhost:8001
  flag-service        http://localhost:8002
  targeting-service   http://localhost:8003
  evaluation-service  http://localhost:8004
  analytics-service   http://localhost:8005
Development keys (set MASTER_KEY / SERVICE_API_KEY to change them):
  master key   $MASTER_KEY
  service key  $SERVICE_API_KEY
Try:  curl "http://localhost:8004/evaluate?user_id=user-123&flag_name=test-checkout"
Press Ctrl-C to stop.
MSG

declare -A reported
while true; do
  for name in "${!pids[@]}"; do
    if [[ -z ${reported[$name]:-} ]] && ! kill -0 "${pids[$name]}" 2>/dev/null; then
      wait "${pids[$name]}"; status=$?
      echo "$name exited (status $status); the others keep running. Logs: $DATA_DIR/logs/$name.log"
      reported[$name]=1
    fi
  done
  sleep 1 &
  wait $!
done
