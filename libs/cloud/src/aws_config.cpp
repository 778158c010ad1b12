#include "toggle/cloud/aws_config.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include "toggle/core/config.hpp"

namespace toggle::cloud {
namespace {

// A region is used in host names and in the signature's credential scope: a lower-case DNS label.
bool valid_region(const std::string& r) {
  if (r.empty() || r.size() > 63 || r.front() == '-' || r.back() == '-') return false;
  for (char c : r)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool valid_access_key_id(const std::string& k) {
  if (k.empty() || k.size() > 128) return false;
  for (char c : k)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

// Secrets pasted with a trailing newline (a common Kubernetes Secret mistake) sign wrongly; say so
// at start rather than with "signature does not match" at the first call.
bool printable_without_spaces(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  return true;
}

// arn:<partition>:iam::<account>:role/<path and name>
bool valid_role_arn(const std::string& arn) {
  if (arn.rfind("arn:", 0) != 0) return false;
  auto iam = arn.find(":iam::");
  auto role = arn.find(":role/");
  return iam != std::string::npos && role != std::string::npos && iam < role && role + 6 < arn.size();
}

// [\w+=,.@-]{2,64}, as STS requires.
bool valid_session_name(const std::string& s) {
  if (s.size() < 2 || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          (c != '\0' && std::strchr("_+=,.@-", c))))
      return false;
  return true;
}

// The endpoint for `service`: its own variable, else AWS_ENDPOINT_URL, else AWS's regional one.
std::string endpoint_for(Env& env, const char* variable, const std::string& common, const std::string& service,
                         const std::string& region, bool ignore_variables) {
  if (!ignore_variables && !env.str(variable, "").empty()) return env.url(variable, "");
  if (!common.empty()) return common;
  return default_endpoint(service, region);
}

std::string last_four(const std::string& s) { return s.size() > 4 ? s.substr(s.size() - 4) : s; }

}  // namespace

std::string default_endpoint(const std::string& service, const std::string& region) {
  // The China partition has its own domain.
  const char* domain = region.rfind("cn-", 0) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
  return "https://" + service + "." + region + "." + domain;
}

AwsConfig aws_config_from_env(Env& env) {
  AwsConfig config;
  const char* region_variable = "AWS_REGION";
  config.region = env.str("AWS_REGION", "");
  if (config.region.empty()) {
    region_variable = "AWS_DEFAULT_REGION";
    config.region = env.str("AWS_DEFAULT_REGION", "");
  }
  if (config.region.empty()) {
    env.fail("AWS_REGION must be set (or AWS_DEFAULT_REGION), e.g. us-east-1");
  } else if (!valid_region(config.region)) {
    env.fail(std::string(region_variable) + "=" + config.region + " is not an AWS region name (e.g. us-east-1)");
  }

  bool ignore_variables = env.boolean("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", false);
  std::string common;
  if (!ignore_variables && !env.str("AWS_ENDPOINT_URL", "").empty()) common = env.url("AWS_ENDPOINT_URL", "");
  config.sqs_endpoint = endpoint_for(env, "AWS_ENDPOINT_URL_SQS", common, "sqs", config.region, ignore_variables);
  config.dynamodb_endpoint =
      endpoint_for(env, "AWS_ENDPOINT_URL_DYNAMODB", common, "dynamodb", config.region, ignore_variables);
  config.sts_endpoint = endpoint_for(env, "AWS_ENDPOINT_URL_STS", common, "sts", config.region, ignore_variables);

  // Credentials: the first source that is set, in the SDKs' order. Secret values are never quoted.
  std::string key = env.str("AWS_ACCESS_KEY_ID", "");
  std::string secret = env.str("AWS_SECRET_ACCESS_KEY", "");
  std::string token = env.str("AWS_SESSION_TOKEN", "");
  std::string token_file = env.str("AWS_WEB_IDENTITY_TOKEN_FILE", "");
  std::string role_arn = env.str("AWS_ROLE_ARN", "");
  if (!key.empty() || !secret.empty()) {
    bool ok = true;
    if (key.empty()) {
      env.fail("AWS_ACCESS_KEY_ID must be set when AWS_SECRET_ACCESS_KEY is");
      ok = false;
    } else if (!valid_access_key_id(key)) {
      env.fail("AWS_ACCESS_KEY_ID is not an access key id (1 to 128 letters and digits)");
      ok = false;
    }
    if (secret.empty()) {
      env.fail("AWS_SECRET_ACCESS_KEY must be set when AWS_ACCESS_KEY_ID is");
      ok = false;
    } else if (!printable_without_spaces(secret)) {
      env.fail("AWS_SECRET_ACCESS_KEY contains spaces or control characters (a trailing newline?)");
      ok = false;
    }
    if (!token.empty() && !printable_without_spaces(token)) {
      env.fail("AWS_SESSION_TOKEN contains spaces or control characters (a trailing newline?)");
      ok = false;
    }
    if (ok) config.static_credentials = AwsCredentials{key, secret, token, std::nullopt};
  } else if (!token.empty()) {
    env.fail("AWS_SESSION_TOKEN is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not");
  } else if (!token_file.empty() || !role_arn.empty()) {
    bool ok = true;
    if (token_file.empty()) {
      env.fail("AWS_WEB_IDENTITY_TOKEN_FILE must be set when AWS_ROLE_ARN is");
      ok = false;
    } else {
      std::ifstream in(token_file);
      if (!in) {
        env.fail("AWS_WEB_IDENTITY_TOKEN_FILE=" + token_file + " cannot be read: " + std::strerror(errno));
        ok = false;
      } else if (in.peek() == std::ifstream::traits_type::eof()) {
        env.fail("AWS_WEB_IDENTITY_TOKEN_FILE=" + token_file + " is empty");
        ok = false;
      }
    }
    if (role_arn.empty()) {
      env.fail("AWS_ROLE_ARN must be set when AWS_WEB_IDENTITY_TOKEN_FILE is");
      ok = false;
    } else if (!valid_role_arn(role_arn)) {
      env.fail("AWS_ROLE_ARN=" + role_arn + " is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)");
      ok = false;
    }
    // Without a name, one that says who asks and when (the SDKs use a timestamp too).
    std::string session = env.str("AWS_ROLE_SESSION_NAME", "togglemaster-" + std::to_string(std::time(nullptr)));
    if (!valid_session_name(session)) {
      env.fail("AWS_ROLE_SESSION_NAME=" + session + " is not 2 to 64 letters, digits or _+=,.@-");
      ok = false;
    }
    if (ok) config.web_identity = WebIdentitySettings{token_file, role_arn, session};
  } else {
    env.fail(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for an emulator), or "
        "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN");
  }
  return config;
}

std::string AwsConfig::describe() const {
  std::string out = "region=" + region + " sqs=" + sqs_endpoint + " dynamodb=" + dynamodb_endpoint;
  if (static_credentials) {
    out += " credentials=static (access key id ending in " + last_four(static_credentials->access_key_id) +
           (static_credentials->session_token.empty() ? ")" : ", with a session token)");
  } else if (web_identity) {
    out += " credentials=web-identity (role " + web_identity->role_arn + " via " + sts_endpoint + ")";
  } else {
    out += " credentials=none";
  }
  return out;
}

std::shared_ptr<CredentialsProvider> make_credentials_provider(const AwsConfig& config, WebIdentityOptions options) {
  if (config.static_credentials) return static_credentials(*config.static_credentials);
  if (config.web_identity) return web_identity_credentials(*config.web_identity, config.sts_endpoint, options);
  throw std::invalid_argument("no AWS credentials configured (see aws_config_from_env)");
}

}  // namespace toggle::cloud
