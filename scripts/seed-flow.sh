#!/usr/bin/env bash
# The seed's end-to-end flow against a running platform (`make run` in another terminal, or the
# Compose stack): create a flag, give it a 100 % rule, evaluate it, and look at the event analytics
# stored. FLAG_URL, TARGETING_URL, EVALUATION_URL and ANALYTICS_URL point it elsewhere.
set -euo pipefail
KEY=${SERVICE_API_KEY:-tm_key_service_internal_dev}
HOST=${HOST:-http://localhost}
FLAG_URL=${FLAG_URL:-$HOST:8002}
TARGETING_URL=${TARGETING_URL:-$HOST:8003}
EVALUATION_URL=${EVALUATION_URL:-$HOST:8004}
ANALYTICS_URL=${ANALYTICS_URL:-$HOST:8005}

echo "# 1) create a feature flag"
curl -s -X POST "$FLAG_URL/flags" \
  -H "Content-Type: application/json" -H "Authorization: $KEY" \
  -d '{"name":"test-checkout","description":"Teste do fluxo de checkout","is_enabled":true}'
echo
echo "# 2) target 100 % of users"
curl -s -X POST "$TARGETING_URL/rules" \
  -H "Content-Type: application/json" -H "Authorization: $KEY" \
  -d '{"flag_name":"test-checkout","is_enabled":true,"rules":{"type":"PERCENTAGE","value":100}}'
echo
echo "# 3) evaluate the flag for a user"
curl -s "$EVALUATION_URL/evaluate?user_id=user-123&flag_name=test-checkout"
echo
sleep 1
echo "# 4) the evaluation event, stored by analytics"
curl -s "$ANALYTICS_URL/events?flag_name=test-checkout&limit=1" -H "Authorization: $KEY"
echo
curl -s "$ANALYTICS_URL/summary?flag_name=test-checkout" -H "Authorization: $KEY"
echo
