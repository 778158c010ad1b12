// AWS settings from the environment, read as the AWS SDKs read them:
//   AWS_REGION (else AWS_DEFAULT_REGION)                       required
//   AWS_ENDPOINT_URL_SQS / _DYNAMODB / _STS, else AWS_ENDPOINT_URL, else the regional endpoint
//     (https://sqs.<region>.amazonaws.com ...); AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores
//     the variables (as the SDKs do)
//   credentials, the first source that is set, in the SDKs' order:
//     AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN]
//     AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME]   (EKS IRSA)
// Not supported: ~/.aws config and credentials files, profiles, EC2/ECS metadata credentials.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "toggle/cloud/aws_credentials.hpp"

namespace toggle {
class Env;
}

namespace toggle::cloud {

struct AwsConfig {
  std::string region;
  std::string sqs_endpoint;                          // base URL without a trailing slash
  std::string dynamodb_endpoint;                     //
  std::string sts_endpoint;                          //
  std::optional<AwsCredentials> static_credentials;  // from AWS_ACCESS_KEY_ID ...
  std::optional<WebIdentitySettings> web_identity;   // else from AWS_WEB_IDENTITY_TOKEN_FILE ...

  // For a start-up log line: region, endpoints, the credential source and access key id. No secret.
  std::string describe() const;
};

// Reads the variables above. Every problem is reported through `env.fail()`, naming the variable
// (and never a secret's value), so that the service's `env.exit_if_invalid()` stops it with status 2.
AwsConfig aws_config_from_env(Env& env);

// The provider for the configured credentials (static or web identity through STS).
std::shared_ptr<CredentialsProvider> make_credentials_provider(const AwsConfig& config,
                                                               WebIdentityOptions options = {});

// The AWS endpoint of `service` ("sqs", "dynamodb", "sts") in `region`.
std::string default_endpoint(const std::string& service, const std::string& region);

}  // namespace toggle::cloud
