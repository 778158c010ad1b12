#!/usr/bin/env bash
# Creates what the cloud event pipeline needs, idempotently (safe to run again and again), from the
# same environment variables the services read:
#
#   scripts/init-cloud.sh aws     the SQS queue (AWS_SQS_URL's name) and its dead-letter queue
#                                 ("<name>-dlq", RedrivePolicy after AWS_SQS_MAX_RECEIVE_COUNT
#                                 deliveries), the DynamoDB tables AWS_DYNAMODB_TABLE (with its
#                                 indexes) and AWS_DYNAMODB_COUNTS_TABLE; AWS_REGION, AWS_ENDPOINT_URL
#                                 and the credentials as for the services
#   scripts/init-cloud.sh azure   the Cosmos DB tables AZURE_COSMOS_TABLE and <table>ByTime (its time
#                                 index), from AZURE_COSMOS_CONNECTION_STRING; the Service Bus queue
#                                 comes from Terraform (or, for a local AMQP broker, from the broker)
#
# It runs `analytics-service --init-cloud` (the one place that knows the resources): from
# $ANALYTICS_SERVICE_BIN, else $BUILD_DIR/bin (default build/), else the PATH (a container image).
# Waits up to INIT_CLOUD_TIMEOUT_MS (60 s) for endpoints that do not answer yet.
set -euo pipefail

provider=${1:-}
case "$provider" in
  aws | azure) ;;
  *)
    echo "usage: scripts/init-cloud.sh aws|azure" >&2
    exit 2
    ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${ANALYTICS_SERVICE_BIN:-}
if [[ -z $bin ]]; then
  if [[ -x ${BUILD_DIR:-$root/build}/bin/analytics-service ]]; then
    bin=${BUILD_DIR:-$root/build}/bin/analytics-service
  elif command -v analytics-service >/dev/null; then
    bin=$(command -v analytics-service)
  else
    echo "init-cloud.sh: analytics-service not found (build it with 'make build', or set ANALYTICS_SERVICE_BIN)" >&2
    exit 1
  fi
fi
CLOUD_PROVIDER=$provider exec "$bin" --init-cloud
