# Shared by the scripts that start a test server (azurite.sh, rabbitmq.sh, servicebus_standin.sh):
# free ports on 127.0.0.1 and servers run in a process group of their own, so that stopping one
# stops everything it started. Sourced, not run.

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port from 20000-49999 that nothing listens on now (a server that loses the race fails to
# start, and the caller tries another).
random_free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    port_in_use "$port" || { echo "$port"; return; }
  done
}

# start_group LOG COMMAND...: runs COMMAND in a new session (its own process group) in the
# background, output appended to LOG, and prints its PID (= the group's id). It stops by itself after
# MAX_SECONDS (default 3600), so that an interrupted test run leaves nothing behind for long.
start_group() {
  local log=$1
  shift
  setsid timeout "${MAX_SECONDS:-3600}" "$@" >>"$log" 2>&1 </dev/null &
  echo $!
}

# stop_group PID: SIGTERM to the group, SIGKILL after 15 s.
stop_group() {
  local pid=$1
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  for _ in $(seq 150); do
    kill -0 -- "-$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

# wait_until SECONDS PID TEST...: waits until TEST succeeds; fails if PID exits or time runs out.
wait_until() {
  local seconds=$1 pid=$2
  shift 2
  local tries=$((seconds * 10))
  for _ in $(seq "$tries"); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
