// Error classification (retryable or not) and the errors read from AWS JSON-protocol replies.
#include "toggle/cloud/aws_error.hpp"

#include <gtest/gtest.h>

namespace {

using toggle::cloud::aws_error_from_reply;
using toggle::cloud::is_retryable;

TEST(AwsErrorClassification, ThrottlingAndTransientFailuresAreRetryable) {
  for (const char* code : {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
                           "Throttling", "TooManyRequestsException", "RequestThrottled", "LimitExceededException",
                           "SlowDown", "InternalServerError", "ServiceUnavailable", "InternalFailure", "RequestTimeout",
                           "IDPCommunicationError", "ExpiredTokenException", "ExpiredToken"}) {
    EXPECT_TRUE(is_retryable(400, code)) << code;
  }
  EXPECT_TRUE(toggle::cloud::is_throttling("ProvisionedThroughputExceededException"));
  EXPECT_FALSE(toggle::cloud::is_throttling("ValidationException"));
  EXPECT_TRUE(toggle::cloud::is_expired_credentials("ExpiredTokenException"));
}

TEST(AwsErrorClassification, StatusCodesDecideForOtherCodes) {
  EXPECT_TRUE(is_retryable(500, "UnknownError"));
  EXPECT_TRUE(is_retryable(502, "UnknownError"));
  EXPECT_TRUE(is_retryable(503, "UnknownError"));
  EXPECT_TRUE(is_retryable(504, "UnknownError"));
  EXPECT_TRUE(is_retryable(429, "UnknownError"));
  EXPECT_TRUE(is_retryable(0, "TransportError"));
}

TEST(AwsErrorClassification, ClientMistakesAndAuthFailuresAreNot) {
  for (const char* code :
       {"ValidationException", "AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
        "InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignatureException",
        "MissingAuthenticationToken", "ResourceNotFoundException", "ConditionalCheckFailedException",
        "QueueDoesNotExist", "InvalidIdentityToken", "InvalidParameterValue", "SerializationException"}) {
    EXPECT_FALSE(is_retryable(400, code)) << code;
  }
  EXPECT_FALSE(is_retryable(403, "UnknownError"));
  EXPECT_FALSE(is_retryable(404, "UnknownError"));
}

TEST(AwsErrorReply, DynamoDbStyleTypeWithNamespace) {
  auto e = aws_error_from_reply(
      400,
      R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"})");
  EXPECT_EQ(e.http_status(), 400);
  EXPECT_EQ(e.code(), "ConditionalCheckFailedException");
  EXPECT_EQ(e.message(), "The conditional request failed");
  EXPECT_TRUE(e.condition_failed());
  EXPECT_FALSE(e.retryable());
  EXPECT_STREQ(e.what(), "ConditionalCheckFailedException: The conditional request failed (HTTP 400)");
}

TEST(AwsErrorReply, SqsStyleAndCapitalisedMessage) {
  auto e = aws_error_from_reply(
      400, R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","Message":"The specified queue does not exist."})");
  EXPECT_EQ(e.code(), "QueueDoesNotExist");
  EXPECT_EQ(e.message(), "The specified queue does not exist.");
  EXPECT_FALSE(e.condition_failed());
}

TEST(AwsErrorReply, ThrottlingIsRetryable) {
  auto e = aws_error_from_reply(
      400,
      R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"})");
  EXPECT_TRUE(e.retryable());
}

TEST(AwsErrorReply, CodeFromTheHeaderWhenTheBodyHasNone) {
  auto e = aws_error_from_reply(400, "{}",
                                "ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/");
  EXPECT_EQ(e.code(), "ValidationException");
  auto empty = aws_error_from_reply(503, "");
  EXPECT_EQ(empty.code(), "UnknownError");
  EXPECT_TRUE(empty.retryable());
}

TEST(AwsErrorReply, NonJsonBodiesKeepTheirBeginning) {
  auto e = aws_error_from_reply(502, "<html><body>Bad Gateway</body></html>");
  EXPECT_EQ(e.code(), "UnknownError");
  EXPECT_NE(e.message().find("Bad Gateway"), std::string::npos);
  EXPECT_TRUE(e.retryable());
}

}  // namespace
