// The SQS client against local-aws-sqs (SQS's JSON protocol): batched sends split by SQS's limits,
// receive / delete, redelivery after the visibility timeout with a growing receive count, lease
// changes, the dead-letter queue after maxReceiveCount, idempotent queue creation, errors.
#include "toggle/cloud/sqs.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "aws_emulators.hpp"

namespace {

using namespace std::chrono_literals;
using toggle::cloud::AwsError;
using toggle::cloud::deadline_after;
using toggle::cloud::SqsClient;
using toggle::cloud::SqsMessage;
using toggle::cloud::SqsReceiveOptions;

class SqsTest : public testing::Test {
 protected:
  SqsTest()
      : sqs({"sqs", "AmazonSQS", testsupport::aws_emulators().sqs, "us-east-1"},
            toggle::cloud::static_credentials({testsupport::kTestAccessKeyId, testsupport::kTestSecretKey, "", {}})) {}

  std::string new_queue(const std::map<std::string, std::string>& attributes = {}) {
    return sqs.create_queue(testsupport::unique_name("q"), attributes, deadline_after(10s));
  }

  // Receives until `count` messages came or `polls` long polls of 1 s came back empty in a row.
  std::vector<SqsMessage> receive(const std::string& url, std::size_t count, SqsReceiveOptions options = {},
                                  int polls = 5) {
    options.wait_seconds = 1;
    std::vector<SqsMessage> got;
    for (int empty = 0; got.size() < count && empty < polls;) {
      auto batch = sqs.receive_messages(url, options, deadline_after(10s));
      if (batch.empty()) ++empty;
      for (auto& m : batch) got.push_back(std::move(m));
    }
    return got;
  }

  int attribute(const std::string& url, const std::string& name) {
    return std::stoi(sqs.get_queue_attributes(url, {name}, deadline_after(10s)).at(name));
  }

  // The Approximate* counts are eventually consistent (on SQS, and local-aws-sqs makes sent
  // messages visible a moment after it answers): the count once it reaches `expected`, or the
  // last one read after a few seconds.
  int settled_attribute(const std::string& url, const std::string& name, int expected) {
    int value = attribute(url, name);
    for (int i = 0; i < 50 && value != expected; ++i) {
      std::this_thread::sleep_for(100ms);
      value = attribute(url, name);
    }
    return value;
  }

  SqsClient sqs;
};

TEST_F(SqsTest, SendReceiveDelete) {
  std::string url = new_queue();
  auto sent = sqs.send_message_batch(
      url, {{"a", R"({"event_id":"1"})", {}}, {"b", R"({"event_id":"2"})", {}}, {"c", "ünïcode ✓", {}}},
      deadline_after(10s));
  EXPECT_TRUE(sent.failed.empty());
  EXPECT_EQ(std::set<std::string>(sent.sent.begin(), sent.sent.end()), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(settled_attribute(url, "ApproximateNumberOfMessages", 3), 3);

  auto messages = receive(url, 3);
  ASSERT_EQ(messages.size(), 3u);
  std::set<std::string> bodies;
  std::vector<toggle::cloud::SqsReceipt> receipts;
  for (const auto& m : messages) {
    bodies.insert(m.body);
    EXPECT_FALSE(m.message_id.empty());
    EXPECT_FALSE(m.receipt_handle.empty());
    EXPECT_EQ(m.receive_count, 1);
    receipts.push_back({"r" + std::to_string(receipts.size()), m.receipt_handle});
  }
  EXPECT_EQ(bodies, (std::set<std::string>{R"({"event_id":"1"})", R"({"event_id":"2"})", "ünïcode ✓"}));
  EXPECT_EQ(settled_attribute(url, "ApproximateNumberOfMessagesNotVisible", 3), 3);

  auto deleted = sqs.delete_message_batch(url, receipts, deadline_after(10s));
  EXPECT_EQ(deleted.succeeded.size(), 3u);
  EXPECT_TRUE(deleted.failed.empty());
  EXPECT_EQ(settled_attribute(url, "ApproximateNumberOfMessages", 0), 0);
  EXPECT_EQ(settled_attribute(url, "ApproximateNumberOfMessagesNotVisible", 0), 0);
}

TEST_F(SqsTest, LargeInputsAreSplitIntoCallsWithinTheLimits) {
  std::string url = new_queue();
  std::vector<toggle::cloud::SqsSendEntry> entries;
  for (int i = 0; i < 25; ++i)  // 25 × 60 KiB: at most 4 per call by size, 10 by count
    entries.push_back({"m" + std::to_string(i), std::to_string(i) + ":" + std::string(60 * 1024, 'x'), {}});
  auto sent = sqs.send_message_batch(url, entries, deadline_after(20s));
  EXPECT_EQ(sent.sent.size(), 25u);
  EXPECT_TRUE(sent.failed.empty()) << sent.failed.front().code << ": " << sent.failed.front().message;
  EXPECT_EQ(settled_attribute(url, "ApproximateNumberOfMessages", 25), 25);
}

TEST_F(SqsTest, BadEntriesFailAloneAndSayWhy) {
  std::string url = new_queue();
  auto sent = sqs.send_message_batch(url,
                                     {{"ok", "fine", {}},
                                      {"big", std::string(toggle::cloud::kSqsMaxBatchBytes + 1, 'x'), {}},
                                      {"ctl", std::string("bell\x07"), {}},
                                      {"utf", std::string("\xff\xfe"), {}}},
                                     deadline_after(10s));
  EXPECT_EQ(sent.sent, (std::vector<std::string>{"ok"}));
  std::map<std::string, std::string> codes;
  for (const auto& f : sent.failed) {
    codes[f.id] = f.code;
    EXPECT_FALSE(f.retryable) << f.id;
  }
  EXPECT_EQ(codes,
            (std::map<std::string, std::string>{
                {"big", "MessageTooLong"}, {"ctl", "InvalidMessageContents"}, {"utf", "InvalidMessageContents"}}));
}

TEST_F(SqsTest, AFailedCallFailsEachOfItsEntries) {
  std::string url = new_queue();
  // Two entries with one id: SQS refuses the whole call.
  auto sent = sqs.send_message_batch(url, {{"same", "1", {}}, {"same", "2", {}}}, deadline_after(10s));
  EXPECT_TRUE(sent.sent.empty());
  ASSERT_EQ(sent.failed.size(), 2u);
  for (const auto& f : sent.failed) {
    EXPECT_EQ(f.code, "BatchEntryIdsNotDistinct");
    EXPECT_FALSE(f.retryable);
  }
  // The queue does not exist: every entry fails with the call's error.
  auto missing = sqs.send_message_batch(url + "-missing", {{"x", "1", {}}}, deadline_after(10s));
  ASSERT_EQ(missing.failed.size(), 1u);
  EXPECT_EQ(missing.failed[0].code, "QueueDoesNotExist");
}

TEST_F(SqsTest, AnUndeletedMessageComesBackAfterItsVisibilityTimeoutWithAHigherReceiveCount) {
  // 2 s, longer than the 1 s polls: local-aws-sqs keeps collecting until a long poll ends, and
  // would return a message twice in one reply if its lease ended meanwhile.
  std::string url = new_queue({{"VisibilityTimeout", "2"}});
  sqs.send_message_batch(url, {{"a", "again", {}}}, deadline_after(10s));
  auto first = receive(url, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].receive_count, 1);
  // Not deleted: once its lease ends, it is delivered again.
  auto second = receive(url, 1, {}, 10);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].message_id, first[0].message_id);
  EXPECT_EQ(second[0].body, "again");
  EXPECT_EQ(second[0].receive_count, 2);
}

TEST_F(SqsTest, VisibilityCanBeExtendedOrEnded) {
  std::string url = new_queue();
  sqs.send_message_batch(url, {{"a", "one", {}}, {"b", "two", {}}}, deadline_after(10s));
  SqsReceiveOptions options;
  options.visibility_timeout = 600;
  auto messages = receive(url, 2, options);
  ASSERT_EQ(messages.size(), 2u);
  // Extend both leases (what a consumer does for messages still in flight)...
  auto extended = sqs.change_message_visibility_batch(
      url, {{"0", messages[0].receipt_handle}, {"1", messages[1].receipt_handle}}, 900, deadline_after(10s));
  EXPECT_EQ(extended.succeeded.size(), 2u);
  EXPECT_TRUE(extended.failed.empty());
  EXPECT_TRUE(receive(url, 1, {}, 1).empty());
  // ...then end one at once: it is delivered again.
  sqs.change_message_visibility(url, messages[0].receipt_handle, 0, deadline_after(10s));
  auto again = receive(url, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body, messages[0].body);
  // SQS says 2; local-aws-sqs also counts each visibility change as a receive (4 here).
  EXPECT_GE(again[0].receive_count, 2);
}

TEST_F(SqsTest, AfterMaxReceiveCountAMessageMovesToTheDeadLetterQueue) {
  std::string dlq = new_queue();
  std::string arn = sqs.get_queue_attributes(dlq, {"QueueArn"}, deadline_after(10s)).at("QueueArn");
  ASSERT_EQ(arn.rfind("arn:aws:sqs:", 0), 0u) << arn;
  std::string url = new_queue({{"RedrivePolicy", toggle::cloud::redrive_policy(arn, 2)}, {"VisibilityTimeout", "30"}});
  sqs.send_message_batch(url, {{"p", "poison", {}}, {"g", "good", {}}}, deadline_after(10s));

  // The consumer cannot process "poison": it gives it back at once, every time. "good" is deleted.
  // One message per short poll: local-aws-sqs would put a message given back at once (visibility
  // timeout 0) several times into one reply.
  int poison_receives = 0;
  for (int poll = 0; poll < 20; ++poll) {
    auto batch =
        sqs.receive_messages(url, {.max_messages = 1, .wait_seconds = 0, .visibility_timeout = 0}, deadline_after(10s));
    if (batch.empty()) std::this_thread::sleep_for(50ms);
    for (const auto& m : batch) {
      if (m.body == "poison") {
        ++poison_receives;
        EXPECT_LE(m.receive_count, 2);
      } else {
        auto deleted = sqs.delete_message_batch(url, {{"g", m.receipt_handle}}, deadline_after(10s));
        EXPECT_EQ(deleted.succeeded.size(), 1u)
            << (deleted.failed.empty() ? "" : deleted.failed[0].code + ": " + deleted.failed[0].message);
      }
    }
  }
  EXPECT_EQ(poison_receives, 2);  // maxReceiveCount
  auto dead = receive(dlq, 1);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].body, "poison");
  EXPECT_EQ(settled_attribute(url, "ApproximateNumberOfMessages", 0), 0);
  EXPECT_TRUE(receive(dlq, 1, {}, 1).empty());  // only the poison message is dead
}

TEST_F(SqsTest, CreateQueueIsIdempotentAndConvergesAttributes) {
  std::string name = testsupport::unique_name("idem");
  std::string first = sqs.create_queue(name, {{"VisibilityTimeout", "30"}}, deadline_after(10s));
  std::string second = sqs.create_queue(name, {{"VisibilityTimeout", "30"}}, deadline_after(10s));
  EXPECT_EQ(first, second);
  std::string third = sqs.create_queue(name, {{"VisibilityTimeout", "45"}}, deadline_after(10s));
  EXPECT_EQ(third, first);
  EXPECT_EQ(attribute(first, "VisibilityTimeout"), 45);
  EXPECT_EQ(sqs.get_queue_url(name, deadline_after(10s)), first);
}

TEST_F(SqsTest, AMissingQueueIsANonRetryableError) {
  try {
    sqs.get_queue_url(testsupport::unique_name("missing"), deadline_after(10s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "QueueDoesNotExist");
    EXPECT_FALSE(e.retryable());
  }
}

TEST_F(SqsTest, ALongPollCanBeCancelled) {
  std::string url = new_queue();
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    cancel = true;
  });
  SqsReceiveOptions options;
  options.wait_seconds = 20;
  options.cancel = &cancel;
  try {
    sqs.receive_messages(url, options, deadline_after(30s));
    ADD_FAILURE() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "Cancelled");
  }
  canceller.join();
}

TEST_F(SqsTest, BadOptionsAreRefusedBeforeAnyCall) {
  SqsReceiveOptions options;
  options.max_messages = 11;
  EXPECT_THROW(sqs.receive_messages("http://x", options, deadline_after(1s)), std::invalid_argument);
  EXPECT_THROW(toggle::cloud::redrive_policy("arn", 0), std::invalid_argument);
}

}  // namespace
