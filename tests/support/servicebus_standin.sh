#!/usr/bin/env bash
# The project's Service Bus stand-in (servicebus_standin.py: TLS, SASL ANONYMOUS, CBS put-token
# with SAS tokens, peek-lock, dead-letter queues) for the tests, on 127.0.0.1 and a free port. A
# test CA and a server certificate for `localhost` are made with openssl in STATE_DIR; a client
# trusts the CA through SSL_CERT_FILE=STATE_DIR/ca.pem (OpenSSL checks the host name, so clients
# connect to localhost). The shared access key is random.
#
#   servicebus_standin.sh start STATE_DIR [stand-in options, e.g. --queue q --max-delivery-count 3]
#       writes STATE_DIR/connection-string (Endpoint=sb://localhost:PORT/;...), STATE_DIR/ca.pem,
#       STATE_DIR/events (the stand-in's JSON lines), STATE_DIR/pid; prints the variables a
#       client needs (the key is a throwaway made for this run)
#   servicebus_standin.sh restart STATE_DIR   stop, then start again on the same port, with the same
#       certificates, key and options (its queues start empty: they live in memory)
#   servicebus_standin.sh stop STATE_DIR
# Needs python3-qpid-proton and openssl (scripts/install-deps.sh --test).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/loopback.sh"
cmd=${1:?usage: servicebus_standin.sh start|restart|stop STATE_DIR [options]}
state=${2:?usage: servicebus_standin.sh start|restart|stop STATE_DIR [options]}
state=$(realpath -m "$state")
shift 2

# Starts the stand-in from the files in the current directory (STATE_DIR) on the port in ./port;
# false if it did not come up.
run() {
  local port pid options
  port=$(cat port)
  mapfile -t options <options
  pid=$(start_group "$PWD/events" /usr/bin/python3 -u "$here/servicebus_standin.py" --port "$port" \
    --cert server.pem --key server-key.pem --host localhost --key-name RootManageSharedAccessKey \
    --key-file sas.key "${options[@]}")
  if wait_until 20 "$pid" port_in_use "$port"; then
    echo "$pid" >pid
    echo "Endpoint=sb://localhost:$port/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=$(cat sas.key)" \
      >connection-string
    return 0
  fi
  stop_group "$pid"
  return 1
}

case "$cmd" in
  start)
    /usr/bin/python3 -c 'import proton' 2>/dev/null || {
      echo "servicebus_standin.sh: python3-qpid-proton is missing (scripts/install-deps.sh --test)" >&2; exit 1; }
    mkdir -p "$state"
    cd "$state"
    # A CA, and a server certificate for localhost signed by it (EC keys: fast to make).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=ToggleMaster test CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
      -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile server.ext \
      -out server.pem 2>/dev/null
    (umask 077 && openssl rand -base64 32 >sas.key)
    options=("$@")
    [[ " $* " == *" --queue "* ]] || options+=(--queue evaluation-events)
    printf '%s\n' "${options[@]}" >options
    for attempt in 1 2 3 4 5; do
      random_free_port >port
      if run; then
        echo "AZURE_SERVICEBUS_CONNECTION_STRING='$(cat connection-string)'"
        echo "SSL_CERT_FILE=$state/ca.pem"
        exit 0
      fi
    done
    echo "servicebus_standin.sh: the stand-in did not start; its output:" >&2
    cat "$state/events" >&2
    exit 1
    ;;
  restart)
    cd "$state"
    [[ -f pid ]] && stop_group "$(cat pid)"
    run || { echo "servicebus_standin.sh: the stand-in did not restart; its output:" >&2; cat events >&2; exit 1; }
    ;;
  stop)
    [[ -f "$state/pid" ]] && stop_group "$(cat "$state/pid")"
    rm -f "$state/pid"
    ;;
  *)
    echo "servicebus_standin.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
