#!/usr/bin/env bash
# RabbitMQ (Debian's rabbitmq-server 3.10) with its AMQP 1.0 plugin, for the tests: a local AMQP
# 1.0 broker for the Service Bus client's development-emulator mode (plain AMQP, no TLS, no CBS).
# Every port on 127.0.0.1 and free (AMQP, Erlang distribution, its own epmd), state in STATE_DIR.
# SASL ANONYMOUS logs in as guest. Queue addresses are /queue/NAME (the queue is declared when a
# receiver attaches).
#
#   rabbitmq.sh start STATE_DIR   writes STATE_DIR/connection-string (Service Bus form, with
#                                 UseDevelopmentEmulator=true), STATE_DIR/pid, STATE_DIR/log
#   rabbitmq.sh stop STATE_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/loopback.sh"
cmd=${1:?usage: rabbitmq.sh start|stop STATE_DIR}
state=${2:?usage: rabbitmq.sh start|stop STATE_DIR}
state=$(realpath -m "$state")
server=/usr/lib/rabbitmq/bin/rabbitmq-server

case "$cmd" in
  start)
    [[ -x "$server" ]] || { echo "rabbitmq.sh: $server is missing (scripts/install-deps.sh --test)" >&2; exit 1; }
    mkdir -p "$state"
    for attempt in 1 2 3; do
      port=$(random_free_port)
      epmd_port=$(random_free_port)
      dist_port=$(random_free_port)
      base="$state/rabbit-$port"
      mkdir -p "$base/mnesia" "$base/log"
      cat >"$base/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$port
loopback_users.guest = true
amqp1_0.default_user = guest
amqp1_0.protocol_strict_mode = false
CONF
      echo '[rabbitmq_amqp1_0].' >"$base/enabled_plugins"
      # The broker and its own epmd in one process group (stopped together); HOME holds the
      # Erlang cookie.
      pid=$(start_group "$state/log" env HOME="$base" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd_port" \
        RABBITMQ_NODENAME="togglemaster_$port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist_port" \
        RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log" \
        RABBITMQ_CONFIG_FILE="$base/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
        bash -c "epmd -address 127.0.0.1 -port $epmd_port & sleep 0.3; exec $server")
      if wait_until 90 "$pid" port_in_use "$port"; then
        echo "$pid" >"$state/pid"
        echo "Endpoint=sb://127.0.0.1:$port/;SharedAccessKeyName=guest;SharedAccessKey=guest;UseDevelopmentEmulator=true" \
          >"$state/connection-string"
        exit 0
      fi
      stop_group "$pid"
    done
    echo "rabbitmq.sh: rabbitmq did not start; its log:" >&2
    tail -40 "$state/log" >&2
    exit 1
    ;;
  stop)
    [[ -f "$state/pid" ]] && stop_group "$(cat "$state/pid")"
    rm -f "$state/pid"
    rm -rf "$state"/rabbit-*
    ;;
  *)
    echo "rabbitmq.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
