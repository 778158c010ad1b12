#include "toggle/cloud/aws_credentials.hpp"

#include "toggle/core/text.hpp"

#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include "http_exchange.hpp"
#include "toggle/core/log.hpp"

namespace toggle::cloud {
namespace {

using SystemClock = std::chrono::system_clock;

class StaticProvider final : public CredentialsProvider {
 public:
  explicit StaticProvider(AwsCredentials credentials) : credentials_(std::move(credentials)) {}
  AwsCredentials get(Deadline) override { return credentials_; }

 private:
  const AwsCredentials credentials_;
};

// Entities of XML text content: the five named ones and numeric ones (ASCII is all STS sends).
std::string xml_unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    auto semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out.push_back('&');
      continue;
    }
    std::string_view entity = s.substr(i + 1, semi - i - 1);
    if (entity == "amp")
      out.push_back('&');
    else if (entity == "lt")
      out.push_back('<');
    else if (entity == "gt")
      out.push_back('>');
    else if (entity == "quot")
      out.push_back('"');
    else if (entity == "apos")
      out.push_back('\'');
    else if (entity.size() > 1 && entity[0] == '#') {
      long code = entity[1] == 'x' ? std::strtol(std::string(entity.substr(2)).c_str(), nullptr, 16)
                                   : std::strtol(std::string(entity.substr(1)).c_str(), nullptr, 10);
      if (code > 0 && code < 128) out.push_back(static_cast<char>(code));
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

// The text of the first <tag>...</tag> in `xml`, or nullopt. STS's replies are small and flat
// enough that this is all the XML reading they need.
std::optional<std::string> xml_text(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  auto start = xml.find(open);
  if (start == std::string_view::npos) return std::nullopt;
  start += open.size();
  auto end = xml.find(close, start);
  if (end == std::string_view::npos) return std::nullopt;
  return xml_unescape(xml.substr(start, end - start));
}

// STS writes Expiration in RFC 3339 (2026-11-30T22:10:00Z): the project's one parser.
std::optional<SystemClock::time_point> parse_iso8601(const std::string& text) {
  auto t = toggle::parse_timestamp(text);
  if (!t) return std::nullopt;
  return SystemClock::time_point(std::chrono::duration_cast<SystemClock::duration>(t->time_since_epoch()));
}

std::string read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  if (in) content << in.rdbuf();
  if (!in) {
    throw AwsError(0, "InvalidWebIdentityToken", "cannot read the token file AWS_WEB_IDENTITY_TOKEN_FILE=" + path,
                   false);
  }
  std::string token = content.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty())
    throw AwsError(0, "InvalidWebIdentityToken", "the token file AWS_WEB_IDENTITY_TOKEN_FILE=" + path + " is empty",
                   false);
  return token;
}

class WebIdentityProvider final : public CredentialsProvider {
 public:
  WebIdentityProvider(WebIdentitySettings settings, std::string sts_endpoint, WebIdentityOptions options)
      : settings_(std::move(settings)), sts_endpoint_(std::move(sts_endpoint)), options_(options) {
    while (!sts_endpoint_.empty() && sts_endpoint_.back() == '/') sts_endpoint_.pop_back();
  }

  AwsCredentials get(Deadline deadline) override {
    std::unique_lock lock(mutex_);
    for (;;) {
      auto now = SystemClock::now();
      bool fresh = cached_ && now < *cached_->expiration - options_.refresh_before;
      bool usable = cached_ && now < *cached_->expiration - options_.expiry_margin;
      if (fresh) return *cached_;
      if (refreshing_) {
        // Another caller is asking STS: the current credentials do meanwhile, if they still can.
        if (usable) return *cached_;
        auto attempt = attempts_;
        if (!changed_.wait_until(lock, deadline, [&] { return attempts_ != attempt; }))
          throw AwsError(0, "Timeout", "no AWS credentials yet: STS AssumeRoleWithWebIdentity still running", true);
        // The attempt waited for failed: its error is this caller's too (no second call to STS).
        if (last_failure_ && !(cached_ && SystemClock::now() < *cached_->expiration - options_.expiry_margin))
          throw *last_failure_;
        continue;
      }
      if (usable && now < retry_not_before_) return *cached_;

      refreshing_ = true;
      lock.unlock();
      std::optional<AwsCredentials> fetched;
      std::optional<AwsError> failure;
      try {
        fetched = assume_role(deadline);
      } catch (const AwsError& e) {
        failure = e;
      } catch (const std::exception& e) {  // never leave `refreshing_` set
        failure = AwsError(0, "InternalError", e.what(), false);
      }
      lock.lock();
      refreshing_ = false;
      ++attempts_;
      last_failure_ = failure;
      if (fetched) cached_ = *fetched;
      changed_.notify_all();
      if (fetched) return *cached_;
      retry_not_before_ = SystemClock::now() + options_.retry_after;
      if (usable) {
        log::warn("renewing AWS credentials failed; the current ones are used until they expire",
                  {{"role_arn", settings_.role_arn}, {"code", failure->code()}, {"error", failure->message()}});
        return *cached_;
      }
      throw *failure;
    }
  }

  void invalidate() override {
    std::lock_guard lock(mutex_);
    if (!refreshing_) cached_.reset();
  }

 private:
  AwsCredentials assume_role(Deadline deadline) const {
    std::string token = read_token(settings_.token_file);
    detail::HttpExchange ex;
    ex.url = sts_endpoint_ + "/";
    ex.headers = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8", "Accept: text/xml"};
    ex.body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + detail::url_encode(settings_.role_arn) +
              "&RoleSessionName=" + detail::url_encode(settings_.session_name) +
              "&DurationSeconds=" + std::to_string(options_.duration.count()) +
              "&WebIdentityToken=" + detail::url_encode(token);
    std::vector<detail::HttpExchange*> one{&ex};
    detail::perform(one, deadline, 1);
    const std::string what = "STS AssumeRoleWithWebIdentity at " + sts_endpoint_ + " for " + settings_.role_arn;
    if (ex.transport_failed)
      throw AwsError(0, ex.timed_out ? "Timeout" : "TransportError", what + ": " + ex.error, true);
    if (ex.status != 200) {
      std::string code = xml_text(ex.response_body, "Code").value_or("UnknownError");
      std::string message = xml_text(ex.response_body, "Message").value_or("");
      throw AwsError(ex.status, code, what + ": " + message, is_retryable(ex.status, code));
    }
    AwsCredentials out;
    auto section = xml_text(ex.response_body, "Credentials");
    auto expiration = section ? xml_text(*section, "Expiration") : std::nullopt;
    if (section) {
      out.access_key_id = xml_text(*section, "AccessKeyId").value_or("");
      out.secret_access_key = xml_text(*section, "SecretAccessKey").value_or("");
      out.session_token = xml_text(*section, "SessionToken").value_or("");
    }
    if (expiration) out.expiration = parse_iso8601(*expiration);
    if (out.access_key_id.empty() || out.secret_access_key.empty() || out.session_token.empty() || !out.expiration)
      throw AwsError(ex.status, "InvalidResponse", what + ": the reply has no complete Credentials", false);
    log::info("AWS credentials renewed",
              {{"role_arn", settings_.role_arn},
               {"expires_in_s",
                std::chrono::duration_cast<std::chrono::seconds>(*out.expiration - SystemClock::now()).count()}});
    return out;
  }

  const WebIdentitySettings settings_;
  std::string sts_endpoint_;
  const WebIdentityOptions options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<AwsCredentials> cached_;
  bool refreshing_ = false;
  std::uint64_t attempts_ = 0;  // finished calls to STS
  std::optional<AwsError> last_failure_;
  SystemClock::time_point retry_not_before_{};
};

}  // namespace

std::shared_ptr<CredentialsProvider> static_credentials(AwsCredentials credentials) {
  return std::make_shared<StaticProvider>(std::move(credentials));
}

std::shared_ptr<CredentialsProvider> web_identity_credentials(WebIdentitySettings settings, std::string sts_endpoint,
                                                              WebIdentityOptions options) {
  return std::make_shared<WebIdentityProvider>(std::move(settings), std::move(sts_endpoint), options);
}

}  // namespace toggle::cloud
