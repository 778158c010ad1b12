#include <algorithm>
#include <nlohmann/json.hpp>

#include "toggle/cloud/aws_pipeline.hpp"
#include "toggle/core/error.hpp"
#include "toggle/core/log.hpp"

namespace toggle::cloud {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

// Acks, releases and lease extensions: small calls, retried by the client within this.
constexpr auto kCallTimeout = std::chrono::milliseconds(10000);

std::vector<SqsReceipt> receipts_of(const std::vector<std::string>& handles) {
  std::vector<SqsReceipt> receipts;
  receipts.reserve(handles.size());
  for (std::size_t i = 0; i < handles.size(); ++i) receipts.push_back({std::to_string(i), handles[i]});
  return receipts;
}

}  // namespace

SqsEventQueue::SqsEventQueue(std::shared_ptr<const SqsClient> sqs, std::string queue_url, SqsQueueOptions options)
    : sqs_(std::move(sqs)), url_(std::move(queue_url)), options_(options) {
  keeper_ = std::thread([this] { keep_leases(); });
}

SqsEventQueue::~SqsEventQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  interrupted_ = true;
  wake_.notify_all();
  keeper_.join();
}

std::vector<EventQueue::Message> SqsEventQueue::receive(std::size_t max, std::chrono::milliseconds wait) {
  if (interrupted_) return {};
  SqsReceiveOptions o;
  o.max_messages = static_cast<int>(std::clamp<std::size_t>(max, 1, 10));
  o.wait_seconds = static_cast<int>(std::clamp<std::int64_t>(wait.count() / 1000, 0, 20));
  o.visibility_timeout = options_.visibility_timeout_s;
  o.cancel = &interrupted_;
  std::vector<SqsMessage> received;
  try {
    // The poll, plus time for the reply.
    received = sqs_->receive_messages(url_, o, Clock::now() + seconds(o.wait_seconds + 5));
  } catch (const AwsError& e) {
    if (e.code() == "Cancelled") return {};
    throw Error::unavailable("queue_unavailable", "SQS queue " + url_ + ": " + e.what());
  }
  auto leased_until = Clock::now() + seconds(options_.visibility_timeout_s);
  std::vector<Message> messages;
  messages.reserve(received.size());
  std::lock_guard lock(mutex_);
  for (auto& m : received) {
    held_[m.receipt_handle] = {m.message_id, m.body, leased_until};
    messages.push_back({m.receipt_handle, std::move(m.body), std::max(1, m.receive_count)});
  }
  return messages;
}

std::optional<SqsEventQueue::Held> SqsEventQueue::forget(const std::string& handle) {
  std::lock_guard lock(mutex_);
  auto it = held_.find(handle);
  if (it == held_.end()) return std::nullopt;
  Held held = std::move(it->second);
  held_.erase(it);
  return held;
}

void SqsEventQueue::ack(const std::vector<std::string>& handles) {
  if (handles.empty()) return;
  for (const auto& h : handles) forget(h);
  auto result = sqs_->delete_message_batch(url_, receipts_of(handles), deadline_after(kCallTimeout));
  // A message not deleted comes back after its lease and is stored again as a duplicate (by
  // event_id): wasted work, not a wrong count.
  if (!result.failed.empty())
    log::warn("SQS did not delete stored messages: they will be delivered again and skipped as duplicates",
              {{"messages", result.failed.size()}, {"error", result.failed.front().code + ": " + result.failed.front().message}});
}

void SqsEventQueue::release(const std::vector<std::string>& handles) {
  if (handles.empty()) return;
  for (const auto& h : handles) forget(h);
  auto result = sqs_->change_message_visibility_batch(url_, receipts_of(handles), options_.release_delay_s,
                                                      deadline_after(kCallTimeout));
  if (!result.failed.empty())
    log::warn("SQS did not release messages: they come back when their lease ends",
              {{"messages", result.failed.size()}, {"error", result.failed.front().code + ": " + result.failed.front().message}});
}

std::string SqsEventQueue::dead_letter_url() {
  std::lock_guard lock(dlq_mutex_);
  if (!dlq_url_.empty()) return dlq_url_;
  // The queue's own RedrivePolicy names its dead-letter queue, whoever created them (our
  // init, Terraform, an operator): {"deadLetterTargetArn":"arn:aws:sqs:region:account:name",...}.
  try {
    auto deadline = deadline_after(kCallTimeout);
    auto policy = sqs_->get_queue_attributes(url_, {"RedrivePolicy"}, deadline)["RedrivePolicy"];
    auto j = nlohmann::json::parse(policy, nullptr, false);
    std::string arn = j.is_object() ? j.value("deadLetterTargetArn", "") : "";
    if (arn.empty()) return {};
    dlq_url_ = sqs_->get_queue_url(arn.substr(arn.rfind(':') + 1), deadline);
  } catch (const AwsError& e) {
    log::warn("cannot find the dead-letter queue", {{"queue", url_}, {"error", e.what()}});
  }
  return dlq_url_;
}

void SqsEventQueue::dead_letter(const std::string& handle, const std::string& reason) {
  auto held = forget(handle);
  if (!held) return;
  std::string dlq = dead_letter_url();
  if (dlq.empty()) {
    // Nowhere to put it: keep it out of the way for SQS's longest lease (12 h) rather than lose it.
    log::error("a message cannot be stored and the queue has no dead-letter queue (RedrivePolicy): it comes back in 12 h",
               {{"message_id", held->message_id}, {"reason", reason}});
    try {
      sqs_->change_message_visibility(url_, handle, 43200, deadline_after(kCallTimeout));
    } catch (const AwsError&) {
    }
    return;
  }
  // The body as it came, so that SQS's redrive can move it back once fixed; the reason goes to the log.
  auto sent = sqs_->send_message_batch(dlq, {{"0", held->body, std::nullopt}}, deadline_after(kCallTimeout));
  if (!sent.failed.empty()) {
    log::warn("cannot move a message to the dead-letter queue now: it comes back later",
              {{"message_id", held->message_id}, {"error", sent.failed.front().code + ": " + sent.failed.front().message}});
    sqs_->change_message_visibility_batch(url_, {{"0", handle}}, options_.release_delay_s, deadline_after(kCallTimeout));
    return;
  }
  sqs_->delete_message_batch(url_, {{"0", handle}}, deadline_after(kCallTimeout));
  log::warn("message moved to the dead-letter queue", {{"message_id", held->message_id}, {"dead_letter_queue", dlq},
                                                       {"reason", reason}});
}

void SqsEventQueue::interrupt() { interrupted_ = true; }

std::optional<std::int64_t> SqsEventQueue::depth() {
  auto d = depth_.load();
  if (d < 0) return std::nullopt;
  return d;
}

std::string SqsEventQueue::readiness() {
  std::lock_guard lock(ready_mutex_);
  auto now = Clock::now();
  if (now - ready_checked_ < seconds(2)) return ready_problem_;
  ready_checked_ = now;
  try {
    auto a = sqs_->get_queue_attributes(url_, {"ApproximateNumberOfMessages"},
                                        deadline_after(std::chrono::milliseconds(1500)));
    depth_ = std::stoll(a.count("ApproximateNumberOfMessages") ? a["ApproximateNumberOfMessages"] : "-1");
    ready_problem_.clear();
  } catch (const std::exception& e) {
    ready_problem_ = "SQS queue " + url_ + ": " + e.what();
  }
  return ready_problem_;
}

std::size_t SqsEventQueue::in_flight() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

// Extends the lease of every message held for more than half of it, and refreshes the depth.
void SqsEventQueue::keep_leases() {
  const auto lease = seconds(options_.visibility_timeout_s);
  const auto period = std::min<Clock::duration>(lease / 4, seconds(5));
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, period, [this] { return stopping_; });
    if (stopping_) break;
    auto now = Clock::now();
    std::vector<std::string> handles;
    for (const auto& [handle, held] : held_)
      if (held.leased_until - now < lease / 2) handles.push_back(handle);
    lock.unlock();
    if (!handles.empty()) {
      auto result = sqs_->change_message_visibility_batch(url_, receipts_of(handles), options_.visibility_timeout_s,
                                                          deadline_after(kCallTimeout));
      lock.lock();
      for (const auto& id : result.succeeded)
        if (auto it = held_.find(handles[std::stoul(id)]); it != held_.end()) it->second.leased_until = now + lease;
      lock.unlock();
      if (!result.failed.empty())
        log::warn("cannot extend the lease of messages being stored: another consumer may receive them too (stored once)",
                  {{"messages", result.failed.size()}, {"error", result.failed.front().code}});
    }
    try {
      auto a = sqs_->get_queue_attributes(url_, {"ApproximateNumberOfMessages"},
                                          deadline_after(std::chrono::milliseconds(2000)));
      if (a.count("ApproximateNumberOfMessages")) depth_ = std::stoll(a["ApproximateNumberOfMessages"]);
    } catch (const std::exception&) {
      // readiness() reports it
    }
    lock.lock();
  }
}

}  // namespace toggle::cloud
