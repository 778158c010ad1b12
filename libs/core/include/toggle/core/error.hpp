// What can go wrong in a request: a small closed set of kinds, each mapped to one HTTP status at
// the edge (the server, http_status()), and a stable machine-readable `code` that clients branch
// on without parsing the message (the codes are listed in the README). Code below the edge --
// stores, validation, key checks -- throws toggle::Error and never deals in HTTP statuses.
#pragma once

#include <stdexcept>
#include <string>

namespace toggle {

enum class ErrorKind {
  invalid,             // 400: the request is malformed or a field is wrong
  unauthenticated,     // 401: no API key, or one that is not valid
  forbidden,           // 403: a valid key without the right for this route
  not_found,           // 404
  method_not_allowed,  // 405
  conflict,            // 409: it exists already
  too_large,           // 413: request body
  uri_too_long,        // 414: request line
  too_many_requests,   // 429: a per-client limit
  headers_too_large,   // 431
  internal,            // 500: a bug; the reply carries a request id, never internals
  unavailable,         // 503: a dependency (storage, another service) cannot be reached now
};

int http_status(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string code, const std::string& message)
      : std::runtime_error(message), kind_(kind), code_(std::move(code)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& code() const { return code_; }
  // What the client is told: the message, unless it holds details for the log only (a driver's
  // text naming hosts, files, SQL), in which case a plain sentence replaces it.
  std::string public_message() const { return public_message_.empty() ? what() : public_message_; }

  // The usual ones, so that a throw reads as what it says: throw Error::invalid("invalid_user_id", ...).
  static Error invalid(std::string code, const std::string& message) {
    return {ErrorKind::invalid, std::move(code), message};
  }
  static Error not_found(std::string code, const std::string& message) {
    return {ErrorKind::not_found, std::move(code), message};
  }
  static Error conflict(std::string code, const std::string& message) {
    return {ErrorKind::conflict, std::move(code), message};
  }
  static Error unavailable(std::string code, const std::string& message) {
    return {ErrorKind::unavailable, std::move(code), message};
  }

 protected:
  void set_public_message(std::string message) { public_message_ = std::move(message); }

 private:
  ErrorKind kind_;
  std::string code_;
  std::string public_message_;
};

}  // namespace toggle
