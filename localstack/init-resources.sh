#!/usr/bin/env bash
# LocalStack init hook (docker-compose.yml mounts it in /etc/localstack/init/ready.d, which LocalStack
# runs once its services answer): what the event pipeline needs, as the seed's
# localstack/init-resources.sh made it — the SQS queue evaluation-events, with a dead-letter queue
# (a message analytics fails to store 5 times moves there instead of blocking the rest), and the
# DynamoDB table EvaluationEvents keyed by event_id. Names come from the services' own settings
# (AWS_SQS_URL, AWS_DYNAMODB_TABLE), so they cannot disagree. Safe to run again.
#
# Only bash and curl (SigV4 signing by curl itself): it runs unchanged in the real LocalStack image
# and in the project's stand-in (scripts/docker-offline.sh).
set -euo pipefail

region=${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}
queue=${AWS_SQS_URL:-http://localstack:4566/000000000000/evaluation-events}
queue=${queue##*/}
dead_letter_queue=$queue-dlq
table=${AWS_DYNAMODB_TABLE:-EvaluationEvents}
endpoint=http://localhost:4566

# aws SERVICE TARGET JSON: one JSON-protocol call; prints the answer, fails on an error status.
aws() {
  curl -sS --fail-with-body --max-time 30 -X POST "$endpoint/" \
    --aws-sigv4 "aws:amz:$region:$1" --user "${AWS_ACCESS_KEY_ID:-test}:${AWS_SECRET_ACCESS_KEY:-test}" \
    -H 'Content-Type: application/x-amz-json-1.0' -H "X-Amz-Target: $2" --data-binary "$3"
}

aws sqs AmazonSQS.CreateQueue "{\"QueueName\":\"$dead_letter_queue\"}" >/dev/null
dlq_arn=$(aws sqs AmazonSQS.GetQueueAttributes \
  "{\"QueueUrl\":\"$endpoint/000000000000/$dead_letter_queue\",\"AttributeNames\":[\"QueueArn\"]}" |
  sed -n 's/.*"QueueArn" *: *"\([^"]*\)".*/\1/p')
[[ -n $dlq_arn ]] || { echo "init-resources: no ARN for $dead_letter_queue" >&2; exit 1; }
redrive="{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}"
aws sqs AmazonSQS.CreateQueue \
  "{\"QueueName\":\"$queue\",\"Attributes\":{\"VisibilityTimeout\":\"30\",\"RedrivePolicy\":\"$redrive\"}}" >/dev/null
echo "init-resources: SQS queue $queue (dead letters: $dead_letter_queue)"

if ! aws dynamodb DynamoDB_20120810.DescribeTable "{\"TableName\":\"$table\"}" >/dev/null 2>&1; then
  aws dynamodb DynamoDB_20120810.CreateTable "{\"TableName\":\"$table\",
    \"AttributeDefinitions\":[{\"AttributeName\":\"event_id\",\"AttributeType\":\"S\"}],
    \"KeySchema\":[{\"AttributeName\":\"event_id\",\"KeyType\":\"HASH\"}],
    \"BillingMode\":\"PAY_PER_REQUEST\"}" >/dev/null
fi
echo "init-resources: DynamoDB table $table"
