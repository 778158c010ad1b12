#include <algorithm>
#include <thread>

#include "retry.hpp"
#include "toggle/cloud/aws_pipeline.hpp"
#include "toggle/core/log.hpp"

namespace toggle::cloud {
namespace {

using Clock = std::chrono::steady_clock;

// Failures that concern the message itself (too large, characters SQS refuses): sending it again
// cannot help. Every other failure -- including errors that fail a whole call, such as a queue
// that does not exist (an emulator restarted before its set-up ran again) or credentials refused
// (being rotated) -- is the transport's, and the events wait in the spool for it to heal.
bool message_refused(const SqsEntryFailure& f) {
  return f.code == "MessageTooLong" || f.code == "InvalidMessageContents";
}

// Errors that will not heal by themselves: /ready says so.
bool configuration_error(const AwsError& e) {
  static const char* const kCodes[] = {"QueueDoesNotExist", "NonExistentQueue", "AccessDenied",
                                       "AccessDeniedException", "InvalidClientTokenId", "UnrecognizedClientException",
                                       "SignatureDoesNotMatch", "InvalidSignatureException", "MissingAuthenticationToken"};
  return std::any_of(std::begin(kCodes), std::end(kCodes), [&](const char* c) { return e.code() == c; });
}

}  // namespace

SqsEventPublisher::SqsEventPublisher(std::shared_ptr<const SqsClient> sqs, std::string queue_url)
    : sqs_(std::move(sqs)), queue_url_(std::move(queue_url)) {}

EventPublisher::Outcome SqsEventPublisher::publish(const std::vector<Event>& batch, std::chrono::milliseconds timeout) {
  if (batch.empty()) return Outcome::delivered;
  Deadline deadline = Clock::now() + timeout;
  // One body per event, made once; entry ids are the events' positions in the batch.
  std::vector<std::string> bodies(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) append_json(bodies[i], batch[i]);
  // Events SQS took in an earlier try of this batch (which failed for others) are not sent again.
  std::vector<std::size_t> todo;
  {
    std::lock_guard lock(sent_mutex_);
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (!sent_before_.count(batch[i].event_id)) todo.push_back(i);
  }
  std::vector<std::size_t> accepted;
  std::size_t refused = 0;
  std::string refusal;
  for (int round = 0;; ++round) {
    std::vector<SqsSendEntry> entries;
    entries.reserve(todo.size());
    for (auto i : todo) entries.push_back({std::to_string(i), bodies[i], std::nullopt});
    SqsSendResult result = sqs_->send_message_batch(queue_url_, entries, deadline);
    for (const auto& id : result.sent) accepted.push_back(std::stoul(id));
    todo.clear();
    std::string last_error;
    bool worth_retrying = false;
    for (const auto& f : result.failed) {
      if (message_refused(f)) {
        ++refused;
        refusal = f.code + ": " + f.message;
        continue;
      }
      last_error = f.code + ": " + f.message;
      worth_retrying |= f.retryable;
      todo.push_back(std::stoul(f.id));
    }
    if (todo.empty()) break;
    if (!worth_retrying) {
      // The queue or the credentials are refused: not now, and not in a moment either. A queue
      // that does not exist any more took its messages with it: all of them are sent again.
      if (last_error.rfind("QueueDoesNotExist", 0) == 0 || last_error.rfind("NonExistentQueue", 0) == 0) {
        std::lock_guard lock(sent_mutex_);
        sent_before_.clear();
        sent_order_.clear();
      } else {
        remember_sent(batch, accepted);
      }
      return failed(last_error);
    }
    // Throttling, a 5xx or a lost connection for some entries: those alone, once more, while
    // the timeout lasts; then the whole batch goes to the spool (sent twice is stored once).
    if (!detail::pause(detail::backoff(std::chrono::milliseconds(50), std::chrono::milliseconds(1000), round),
                       deadline)) {
      remember_sent(batch, accepted);
      return failed(last_error);
    }
  }
  forget_sent(batch);
  if (failing_.exchange(false)) log::info("SQS takes events again", {{"queue", queue_url_}});
  if (refused == 0) return Outcome::delivered;
  // Our own events are small and valid JSON: this is a bug, kept in the log, not retried forever.
  log::error("SQS refused events as invalid: they are not sent",
             {{"events", refused}, {"batch", batch.size()}, {"error", refusal}});
  return refused == batch.size() ? Outcome::rejected : Outcome::delivered;
}

// A batch that failed comes back (from the spool) with the events SQS took already: those are
// remembered (the most recent 100,000), so that a slow or throttling SQS does not get them twice.
// (Twice would be harmless -- stored once by event_id -- but it is more work for everyone.)
void SqsEventPublisher::remember_sent(const std::vector<Event>& batch, const std::vector<std::size_t>& accepted) {
  std::lock_guard lock(sent_mutex_);
  for (auto i : accepted) {
    if (!sent_before_.insert(batch[i].event_id).second) continue;
    sent_order_.push_back(batch[i].event_id);
    if (sent_order_.size() > 100000) {
      sent_before_.erase(sent_order_.front());
      sent_order_.pop_front();
    }
  }
}

void SqsEventPublisher::forget_sent(const std::vector<Event>& batch) {
  std::lock_guard lock(sent_mutex_);
  if (sent_before_.empty()) return;
  for (const auto& e : batch) sent_before_.erase(e.event_id);  // their order entries age out harmlessly
}

EventPublisher::Outcome SqsEventPublisher::failed(const std::string& error) {
  // Logged when it starts failing, not for every batch (the spool's metrics tell the rest).
  if (!failing_.exchange(true))
    log::warn("SQS is not taking events: they wait in the spool", {{"queue", queue_url_}, {"error", error}});
  return Outcome::failed;
}

std::string SqsEventPublisher::readiness() {
  std::lock_guard lock(ready_mutex_);
  auto now = Clock::now();
  if (now - ready_checked_ < std::chrono::seconds(2)) return ready_problem_;
  ready_checked_ = now;
  try {
    sqs_->get_queue_attributes(queue_url_, {"QueueArn"}, deadline_after(std::chrono::milliseconds(1500)));
    ready_problem_.clear();
  } catch (const AwsError& e) {
    ready_problem_ = configuration_error(e) ? "SQS refuses the queue " + queue_url_ + ": " + e.what() : "";
  }
  return ready_problem_;
}

}  // namespace toggle::cloud
