// How batch operations split their input into calls: SendMessageBatch (10 entries, 256 KiB of
// bodies), BatchWriteItem (25), BatchGetItem (100).
#include <gtest/gtest.h>

#include "toggle/cloud/dynamodb.hpp"
#include "toggle/cloud/sqs.hpp"

namespace {

using toggle::cloud::kSqsMaxBatchBytes;
using toggle::cloud::plan_send_batches;
using toggle::cloud::SqsSendEntry;

std::vector<SqsSendEntry> entries(std::size_t n, std::size_t body_size) {
  std::vector<SqsSendEntry> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back({"e" + std::to_string(i), std::string(body_size, 'x'), {}});
  return out;
}

std::vector<std::size_t> sizes(const std::vector<std::vector<std::size_t>>& batches) {
  std::vector<std::size_t> out;
  for (const auto& b : batches) out.push_back(b.size());
  return out;
}

TEST(SqsSendPlan, TenEntriesPerCall) {
  auto plan = plan_send_batches(entries(25, 100));
  EXPECT_EQ(sizes(plan.batches), (std::vector<std::size_t>{10, 10, 5}));
  EXPECT_TRUE(plan.too_large.empty());
  // Every entry once, in order.
  std::size_t expected = 0;
  for (const auto& batch : plan.batches)
    for (auto i : batch) EXPECT_EQ(i, expected++);
  EXPECT_EQ(expected, 25u);
}

TEST(SqsSendPlan, ExactlyTenAndNone) {
  EXPECT_EQ(sizes(plan_send_batches(entries(10, 1)).batches), (std::vector<std::size_t>{10}));
  EXPECT_TRUE(plan_send_batches({}).batches.empty());
}

TEST(SqsSendPlan, BodiesAddUpToAt256KiBPerCall) {
  // 100 KiB bodies: two fit (200 KiB), a third would make 300 KiB.
  auto plan = plan_send_batches(entries(5, 100 * 1024));
  EXPECT_EQ(sizes(plan.batches), (std::vector<std::size_t>{2, 2, 1}));
  // Bodies that fill 256 KiB exactly go together.
  auto exact = plan_send_batches(entries(4, kSqsMaxBatchBytes / 2));
  EXPECT_EQ(sizes(exact.batches), (std::vector<std::size_t>{2, 2}));
  // One byte more and they do not.
  auto over = plan_send_batches(entries(2, kSqsMaxBatchBytes / 2 + 1));
  EXPECT_EQ(sizes(over.batches), (std::vector<std::size_t>{1, 1}));
}

TEST(SqsSendPlan, ABodyOver256KiBIsSetAside) {
  auto list = entries(3, 10);
  list[1].body.assign(kSqsMaxBatchBytes + 1, 'y');
  auto plan = plan_send_batches(list);
  EXPECT_EQ(plan.too_large, (std::vector<std::size_t>{1}));
  ASSERT_EQ(plan.batches.size(), 1u);
  EXPECT_EQ(plan.batches[0], (std::vector<std::size_t>{0, 2}));
  // A body of exactly 256 KiB is allowed, alone.
  list[1].body.assign(kSqsMaxBatchBytes, 'y');
  EXPECT_EQ(sizes(plan_send_batches(list).batches), (std::vector<std::size_t>{1, 1, 1}));
}

TEST(BatchPlan, TwentyFiveItemsPerBatchWrite) {
  EXPECT_EQ(sizes(toggle::cloud::plan_batches(60, toggle::cloud::kDynamoMaxBatchWrite)),
            (std::vector<std::size_t>{25, 25, 10}));
  EXPECT_EQ(sizes(toggle::cloud::plan_batches(25, 25)), (std::vector<std::size_t>{25}));
  EXPECT_EQ(sizes(toggle::cloud::plan_batches(250, toggle::cloud::kDynamoMaxBatchGet)),
            (std::vector<std::size_t>{100, 100, 50}));
  EXPECT_TRUE(toggle::cloud::plan_batches(0, 25).empty());
}

}  // namespace
