#!/usr/bin/env bash
# The AWS stand-ins for the tests (aws-emulators.mjs: local-aws-sqs, dynalite and the SigV4
# checker in one Node.js process on free loopback ports), in the background.
#
#   aws-emulators.sh start STATE_DIR   start; writes STATE_DIR/endpoints.json
#                                      ({"sqs":"http://127.0.0.1:P","dynamodb":...,"sigv4":...,"pid":N})
#                                      and STATE_DIR/pid; the process log is STATE_DIR/log
#   aws-emulators.sh stop STATE_DIR    stop it (also what `start` does first)
#
# Needs the npm packages of tests/package.json (scripts/install-deps.sh --test). The process exits
# by itself after MAX_SECONDS (default 3600) if nobody stops it.
set -euo pipefail

cmd=${1:?usage: aws-emulators.sh start|stop STATE_DIR}
state=${2:?usage: aws-emulators.sh start|stop STATE_DIR}
here=$(cd "$(dirname "$0")" && pwd)

stop() {
  if [[ -f "$state/pid" ]]; then
    local pid
    pid=$(cat "$state/pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$state/pid" "$state/endpoints.json"
}

case "$cmd" in
  start)
    for package in local-aws-sqs dynalite @smithy/signature-v4 @smithy/hash-node; do
      [[ -d "$here/../node_modules/$package" ]] || {
        echo "aws-emulators.sh: tests/node_modules/$package is missing (run scripts/install-deps.sh --test)" >&2
        exit 1
      }
    done
    mkdir -p "$state"
    stop
    nohup node "$here/aws-emulators.mjs" --max-seconds "${MAX_SECONDS:-3600}" >"$state/endpoints.json" 2>"$state/log" &
    pid=$!
    echo "$pid" >"$state/pid"
    for _ in $(seq 300); do
      if grep -q '"pid"' "$state/endpoints.json" 2>/dev/null; then
        cat "$state/endpoints.json"
        exit 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    echo "aws-emulators.sh: the emulators did not start; log:" >&2
    cat "$state/log" >&2 || true
    stop
    exit 1
    ;;
  stop)
    stop
    ;;
  *)
    echo "aws-emulators.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
