#!/usr/bin/env bash
# Azurite's Table service (Microsoft's Azure Storage emulator, from tests/node_modules; the same
# REST protocol and SharedKey signatures as Cosmos DB's Table API) for the tests: in memory, on
# 127.0.0.1 and a free port, with the emulator's documented development account.
#
#   azurite.sh start STATE_DIR   writes STATE_DIR/connection-string (TableEndpoint path-style:
#                                http://127.0.0.1:PORT/devstoreaccount1), STATE_DIR/pid, STATE_DIR/log
#   azurite.sh stop STATE_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/loopback.sh"
cmd=${1:?usage: azurite.sh start|stop STATE_DIR}
state=${2:?usage: azurite.sh start|stop STATE_DIR}
state=$(realpath -m "$state")
azurite="$here/../node_modules/.bin/azurite-table"

case "$cmd" in
  start)
    [[ -x "$azurite" ]] || { echo "azurite.sh: $azurite is missing (scripts/install-deps.sh --test)" >&2; exit 1; }
    mkdir -p "$state"
    for attempt in 1 2 3 4 5; do
      port=$(random_free_port)
      # Strict: no --loose, no --skipApiVersionCheck (a client must send what the service accepts).
      pid=$(start_group "$state/log" "$azurite" --inMemoryPersistence --disableTelemetry --silent \
        --tableHost 127.0.0.1 --tablePort "$port")
      if wait_until 30 "$pid" curl -s -o /dev/null "http://127.0.0.1:$port/devstoreaccount1/Tables"; then
        echo "$pid" >"$state/pid"
        # The emulator's published development key (not a secret).
        echo "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:$port/devstoreaccount1;" \
          >"$state/connection-string"
        exit 0
      fi
      stop_group "$pid"
    done
    echo "azurite.sh: azurite did not start; its log:" >&2
    cat "$state/log" >&2
    exit 1
    ;;
  stop)
    [[ -f "$state/pid" ]] && stop_group "$(cat "$state/pid")"
    rm -f "$state/pid"
    ;;
  *)
    echo "azurite.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
