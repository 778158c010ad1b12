#!/usr/bin/env bash
# `make run` as a user runs it: scripts/run.sh starts the five services on 8001-8005, the seed's
# curl flow answers as the seed shows, and SIGTERM stops everything. Skipped (exit 77) when the
# ports are taken, e.g. by a platform already running on this machine.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${1:?usage: make_run_test.sh BUILD_DIR}
for port in 8001 8002 8003 8004 8005; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "port $port in use: skipping"; exit 77; fi
done
data=$(mktemp -d)
out=$data/run.out
trap 'kill -TERM $runner 2>/dev/null; rm -rf "$data"' EXIT
BUILD_DIR=$build_dir DATA_DIR=$data "$repo/scripts/run.sh" >"$out" 2>&1 &
runner=$!
for _ in $(seq 1 150); do grep -q "ToggleMaster is running" "$out" && break; sleep 0.1; done
grep -q "ToggleMaster is running" "$out" || { echo "run.sh did not start:"; cat "$out"; exit 1; }

flow=$("$repo/scripts/seed-flow.sh")
echo "$flow"
fail=0
grep -q '"name":"test-checkout"' <<<"$flow" || { echo "FAIL: flag not created"; fail=1; }
grep -q '"rules":{"type":"PERCENTAGE","value":100}' <<<"$flow" || { echo "FAIL: rule not created"; fail=1; }
grep -qx '{"flag_name":"test-checkout","user_id":"user-123","result":true}' <<<"$flow" || { echo "FAIL: evaluate"; fail=1; }
grep -q '"total":1' <<<"$flow" || { echo "FAIL: event not stored"; fail=1; }

kill -TERM $runner
for _ in $(seq 1 150); do kill -0 $runner 2>/dev/null || break; sleep 0.1; done
if kill -0 $runner 2>/dev/null; then echo "FAIL: run.sh still running after SIGTERM"; fail=1; fi
wait $runner; status=$?
[[ $status -eq 0 ]] || { echo "FAIL: run.sh exit status $status"; fail=1; }
if pgrep -f "$build_dir/bin/.*-service" >/dev/null; then echo "FAIL: services left running"; fail=1; fi
grep -q '"msg":"stopped"' "$data/logs/evaluation-service.log" || { echo "FAIL: no graceful stop logged"; fail=1; }

# A port already taken: make run refuses to start, says which port and by what, and exits non-zero.
python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 8003)); s.listen(); time.sleep(30)' &
squatter=$!
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/8003) 2>/dev/null && break; sleep 0.1; done
BUILD_DIR=$build_dir DATA_DIR=$data "$repo/scripts/run.sh" >"$data/taken.out" 2>&1
status=$?
kill $squatter 2>/dev/null
[[ $status -ne 0 ]] || { echo "FAIL: run.sh exited 0 with port 8003 taken"; fail=1; }
grep -q "port 8003" "$data/taken.out" || { echo "FAIL: the taken port is not named:"; cat "$data/taken.out"; fail=1; }
grep -q "python3" "$data/taken.out" || echo "note: the process holding the port was not named (no ss?)"
if pgrep -f "$build_dir/bin/.*-service" >/dev/null; then echo "FAIL: services left running"; fail=1; fi
[[ $fail -eq 0 ]] && echo "make run: OK"
exit $fail
