#include "toggle/cloud/aws_json.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include "http_exchange.hpp"
#include "retry.hpp"

namespace toggle::cloud {
namespace {

using Clock = std::chrono::steady_clock;

AwsError transport_error(const detail::HttpExchange& ex, const std::string& endpoint) {
  if (ex.cancelled) return AwsError(0, "Cancelled", ex.error, false);
  if (ex.timed_out) return AwsError(0, "Timeout", ex.error + " (" + endpoint + ")", true);
  return AwsError(0, "TransportError", ex.error + " (" + endpoint + ")", true);
}

}  // namespace

namespace detail {

std::chrono::milliseconds backoff(std::chrono::milliseconds base, std::chrono::milliseconds max, int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  std::int64_t ceiling = std::min<std::int64_t>(base.count() << std::min(attempt, 16), max.count());
  return std::chrono::milliseconds(
      std::uniform_int_distribution<std::int64_t>(0, std::max<std::int64_t>(0, ceiling))(random));
}

bool pause(std::chrono::milliseconds wait, Deadline deadline, const std::atomic<bool>* cancel) {
  auto until = Clock::now() + wait;
  if (until >= deadline) return false;
  while (Clock::now() < until) {
    if (cancel && cancel->load()) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(100)));
  }
  return true;
}

}  // namespace detail

std::vector<std::vector<std::size_t>> plan_batches(std::size_t count, std::size_t max) {
  std::vector<std::vector<std::size_t>> batches;
  max = std::max<std::size_t>(1, max);
  for (std::size_t i = 0; i < count; ++i) {
    if (i % max == 0) batches.emplace_back();
    batches.back().push_back(i);
  }
  return batches;
}

AwsJsonClient::AwsJsonClient(AwsService service, std::shared_ptr<CredentialsProvider> credentials,
                             AwsCallOptions options)
    : service_(std::move(service)), credentials_(std::move(credentials)), options_(options) {
  while (!service_.endpoint.empty() && service_.endpoint.back() == '/') service_.endpoint.pop_back();
  options_.max_attempts = std::max(1, options_.max_attempts);
}

std::string AwsJsonClient::call(std::string_view operation, std::string body, Deadline deadline,
                                const std::atomic<bool>* cancel) const {
  std::vector<std::string> bodies;
  bodies.push_back(std::move(body));
  auto outcome = std::move(run(operation, std::move(bodies), deadline, cancel).front());
  if (outcome.error) throw *outcome.error;
  return std::move(outcome.body);
}

std::vector<AwsOutcome> AwsJsonClient::call_all(std::string_view operation, std::vector<std::string> bodies,
                                                Deadline deadline) const {
  return run(operation, std::move(bodies), deadline, nullptr);
}

std::vector<AwsOutcome> AwsJsonClient::run(std::string_view operation, std::vector<std::string> bodies,
                                           Deadline deadline, const std::atomic<bool>* cancel) const {
  std::vector<AwsOutcome> outcomes(bodies.size());
  std::vector<std::size_t> pending(bodies.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  const std::string target = "X-Amz-Target: " + service_.target_prefix + "." + std::string(operation);
  const std::string url = service_.endpoint + "/";

  for (int attempt = 0; !pending.empty(); ++attempt) {
    AwsCredentials credentials;
    try {
      credentials = credentials_->get(deadline);
    } catch (const AwsError& e) {
      for (auto i : pending) outcomes[i].error = e;
      break;
    }
    detail::SigV4 sign{service_.region, service_.signing_name, credentials.access_key_id,
                       credentials.secret_access_key};
    std::vector<detail::HttpExchange> exchanges(pending.size());
    std::vector<detail::HttpExchange*> order;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      auto& ex = exchanges[k];
      ex.url = url;
      ex.headers = {"Content-Type: application/x-amz-json-1.0", target};
      // Temporary credentials: the token goes in a header that libcurl then signs with the rest.
      if (!credentials.session_token.empty())
        ex.headers.push_back("X-Amz-Security-Token: " + credentials.session_token);
      // The last attempt may take the body; earlier ones copy it (it may be sent again).
      ex.body = attempt + 1 >= options_.max_attempts ? std::move(bodies[pending[k]]) : bodies[pending[k]];
      ex.sign = &sign;
      order.push_back(&ex);
    }
    detail::perform(order, deadline, options_.max_parallel, cancel);

    std::vector<std::size_t> again;
    bool expired = false;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      auto& ex = exchanges[k];
      auto& outcome = outcomes[pending[k]];
      if (!ex.transport_failed && ex.status >= 200 && ex.status < 300) {
        outcome.body = std::move(ex.response_body);
        outcome.error.reset();
        continue;
      }
      AwsError error = ex.transport_failed
                           ? transport_error(ex, service_.endpoint)
                           : aws_error_from_reply(ex.status, ex.response_body, ex.header("x-amzn-errortype"));
      expired = expired || is_expired_credentials(error.code());
      bool retry = error.retryable() && attempt + 1 < options_.max_attempts;
      outcome.error = std::move(error);
      if (retry) again.push_back(pending[k]);
    }
    if (expired) credentials_->invalidate();
    if (again.empty() ||
        !detail::pause(detail::backoff(options_.base_backoff, options_.max_backoff, attempt), deadline, cancel))
      break;
    pending = std::move(again);
  }
  return outcomes;
}

}  // namespace toggle::cloud
