#include "toggle/core/http.hpp"

#include "toggle/core/text.hpp"

namespace toggle {

std::string_view to_string(Method m) {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::head:
      return "HEAD";
    case Method::post:
      return "POST";
    case Method::put:
      return "PUT";
    case Method::patch:
      return "PATCH";
    case Method::delete_:
      return "DELETE";
    case Method::options:
      return "OPTIONS";
    case Method::other:
      break;
  }
  return "OTHER";
}

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid:
      return 400;
    case ErrorKind::unauthenticated:
      return 401;
    case ErrorKind::forbidden:
      return 403;
    case ErrorKind::not_found:
      return 404;
    case ErrorKind::method_not_allowed:
      return 405;
    case ErrorKind::conflict:
      return 409;
    case ErrorKind::too_large:
      return 413;
    case ErrorKind::uri_too_long:
      return 414;
    case ErrorKind::too_many_requests:
      return 429;
    case ErrorKind::headers_too_large:
      return 431;
    case ErrorKind::unavailable:
      return 503;
    case ErrorKind::internal:
      break;
  }
  return 500;
}

Response error_response(ErrorKind kind, std::string_view code, std::string_view message) {
  Response r;
  r.status = http_status(kind);
  r.is_error = true;
  r.body.reserve(message.size() + code.size() + 24);
  r.body = "{\"error\":";
  append_json_string(r.body, message);
  r.body += ",\"code\":";
  append_json_string(r.body, code);
  r.body += "}";
  return r;
}

Response error_response(const Error& error) {
  return error_response(error.kind(), error.code(), error.public_message());
}

Response empty_response(int status) {
  Response r;
  r.status = status;
  r.content_type.clear();
  return r;
}

void reply_with(const Responder& responder, Reply reply) {
  try {
    if (auto* r = std::get_if<Response>(&reply))
      responder(std::move(*r));
    else
      std::get<Deferred>(reply).start(responder);
  } catch (const Error& e) {
    responder(error_response(e));
  }
}

std::string_view Request::header(std::string_view name) const {
  return header_lookup ? header_lookup(raw_headers, name) : std::string_view{};
}

std::string Request::path_param(std::string_view name) const {
  for (auto& [key, value] : params) {
    if (key != name) continue;
    auto decoded = percent_decode(value, false);
    if (!decoded) throw Error::invalid("invalid_path", "malformed percent-encoding in path");
    return *decoded;
  }
  return {};
}

std::optional<std::string> Request::query(std::string_view key) const {
  std::string_view rest = query_string;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = pair.find('=');
    auto raw_key = percent_decode(pair.substr(0, eq), true);
    if (!raw_key) throw Error::invalid("invalid_parameter", "malformed percent-encoding in query string");
    if (*raw_key != key) continue;
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!value) throw Error::invalid("invalid_parameter", "malformed percent-encoding in query parameter '" + std::string(key) + "'");
    return value;
  }
  return std::nullopt;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace toggle
