// AWS credentials and where they come from: fixed keys (AWS_ACCESS_KEY_ID...), or a web-identity
// token exchanged with STS for temporary keys (EKS IRSA: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN),
// cached and renewed before they expire. Providers are thread-safe. Secrets are never logged, and
// never part of an error message.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "toggle/cloud/aws_error.hpp"

namespace toggle::cloud {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only (sent as X-Amz-Security-Token)
  std::optional<std::chrono::system_clock::time_point> expiration;  // none: never expire
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Credentials valid now; throws AwsError when none can be had by `deadline`.
  virtual AwsCredentials get(Deadline deadline) = 0;
  // AWS said the credentials last returned have expired: the next get() fetches new ones.
  virtual void invalidate() {}
};

std::shared_ptr<CredentialsProvider> static_credentials(AwsCredentials credentials);

struct WebIdentitySettings {
  std::string token_file;    // AWS_WEB_IDENTITY_TOKEN_FILE: read again at every renewal (kubelet rotates it)
  std::string role_arn;      // AWS_ROLE_ARN
  std::string session_name;  // AWS_ROLE_SESSION_NAME
};

struct WebIdentityOptions {
  // Credentials are renewed when they have less than this left. A failed renewal keeps the old
  // ones while they have more than `expiry_margin` left (and tries again after `retry_after`).
  std::chrono::seconds refresh_before{300};
  std::chrono::seconds expiry_margin{30};
  std::chrono::seconds retry_after{5};
  std::chrono::seconds duration{3600};  // DurationSeconds asked of STS (900 to 43200)
};

// Temporary credentials from STS AssumeRoleWithWebIdentity (an unsigned request: the token is the
// proof), at `sts_endpoint` (e.g. https://sts.eu-west-1.amazonaws.com).
std::shared_ptr<CredentialsProvider> web_identity_credentials(WebIdentitySettings settings, std::string sts_endpoint,
                                                              WebIdentityOptions options = {});

}  // namespace toggle::cloud
