// Entity group transactions: the multipart/mixed body of POST /$batch and its response, plus the
// URL pieces the client and the batch share.
//
// Request: one batch part holding one changeset; each operation is an HTTP request written out
// in full (absolute URL, headers, JSON body). Response (202): a changeset response with each
// operation's status, or, when the transaction failed, the one failing response, whose error
// message starts with the operation's 0-based index ("1:The specified entity already exists.").
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "cosmos_table_internal.hpp"

namespace toggle::cloud::table_detail {
namespace {

constexpr const char* kCrlf = "\r\n";

const char* method_of(TableOperation::Kind kind) {
  switch (kind) {
    case TableOperation::Kind::insert:
      return "POST";
    case TableOperation::Kind::upsert_replace:
    case TableOperation::Kind::update:
      return "PUT";
    case TableOperation::Kind::upsert_merge:
    case TableOperation::Kind::merge:
      return "MERGE";
    case TableOperation::Kind::remove:
      return "DELETE";
  }
  return "POST";
}

bool needs_if_match(TableOperation::Kind kind) {
  return kind == TableOperation::Kind::update || kind == TableOperation::Kind::merge ||
         kind == TableOperation::Kind::remove;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// One operation's response inside the changeset response.
struct PartResponse {
  int status = 0;
  std::string etag;
  std::string body;
};

std::vector<PartResponse> split_responses(std::string_view body) {
  std::vector<PartResponse> parts;
  enum { outside, headers, content } state = outside;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    auto end = body.find('\n', pos);
    std::string_view line = body.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? body.size() + 1 : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.rfind("HTTP/1.1 ", 0) == 0) {
      PartResponse part;
      auto code = line.substr(9, 3);
      std::from_chars(code.data(), code.data() + code.size(), part.status);
      parts.push_back(std::move(part));
      state = headers;
    } else if (line.rfind("--", 0) == 0) {
      state = outside;
    } else if (state == headers) {
      if (line.empty()) {
        state = content;
      } else if (starts_with_nocase(line, "ETag:")) {
        parts.back().etag = std::string(trim(line.substr(5)));
      }
    } else if (state == content) {
      parts.back().body.append(line);
    }
  }
  return parts;
}

}  // namespace

void check_table_name(const std::string& table) {
  bool ok = table.size() >= 3 && table.size() <= 63 && std::isalpha(static_cast<unsigned char>(table[0]));
  for (unsigned char c : table) ok = ok && std::isalnum(c) && c < 0x80;
  if (!ok) {
    throw std::invalid_argument("table name '" + table + "' is not 3 to 63 letters and digits starting with a letter");
  }
}

std::string encode_uri_component(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((std::isalnum(c) && c < 0x80) ||
        std::string_view("-_.!~*'()").find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string entity_key_segment(const std::string& partition_key, const std::string& row_key) {
  for (auto [which, key] : {std::pair{"PartitionKey", &partition_key}, std::pair{"RowKey", &row_key}}) {
    if (auto problem = table_key_problem(*key); !problem.empty()) {
      throw std::invalid_argument(std::string(which) + " " + problem);
    }
  }
  auto quoted = [](const std::string& key) {
    std::string doubled;
    for (char c : key) doubled += c == '\'' ? std::string("''") : std::string(1, c);
    return "'" + encode_uri_component(doubled) + "'";
  };
  return "(PartitionKey=" + quoted(partition_key) + ",RowKey=" + quoted(row_key) + ")";
}

std::string build_batch_body(const std::string& batch_boundary, const std::string& changeset_boundary,
                             const std::string& table_url, const std::vector<TableOperation>& operations) {
  std::string out;
  out += "--" + batch_boundary + kCrlf;
  out += "Content-Type: multipart/mixed; boundary=" + changeset_boundary + kCrlf;
  out += kCrlf;
  for (const auto& op : operations) {
    out += "--" + changeset_boundary + kCrlf;
    out += std::string("Content-Type: application/http") + kCrlf;
    out += std::string("Content-Transfer-Encoding: binary") + kCrlf;
    out += kCrlf;
    std::string url = table_url;
    if (op.kind != TableOperation::Kind::insert) {
      url += entity_key_segment(op.entity.partition_key, op.entity.row_key);
    }
    out += std::string(method_of(op.kind)) + " " + url + " HTTP/1.1" + kCrlf;
    out += std::string("Accept: application/json;odata=minimalmetadata") + kCrlf;
    out += std::string("DataServiceVersion: 3.0;") + kCrlf;
    if (needs_if_match(op.kind)) out += "If-Match: " + (op.entity.etag.empty() ? "*" : op.entity.etag) + kCrlf;
    if (op.kind == TableOperation::Kind::remove) {
      out += kCrlf;
    } else {
      if (op.kind == TableOperation::Kind::insert) out += std::string("Prefer: return-no-content") + kCrlf;
      out += std::string("Content-Type: application/json") + kCrlf;
      out += kCrlf;
      out += entity_to_json(op.entity).dump() + kCrlf;
    }
  }
  out += "--" + changeset_boundary + "--" + kCrlf;
  out += "--" + batch_boundary + "--" + kCrlf;
  return out;
}

TableBatchResult parse_batch_response(std::string_view body, std::size_t operation_count) {
  TableBatchResult result;
  auto parts = split_responses(body);
  // A service that answers every operation of a failed transaction (as Cosmos DB's transactional
  // batches do) marks those it did not apply because of another with 424 Failed Dependency: the
  // cause is the first failure that is not a 424.
  bool has_cause = false;
  for (const auto& part : parts) has_cause = has_cause || (part.status >= 300 && part.status != 424);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].status >= 200 && parts[i].status < 300) continue;
    if (has_cause && parts[i].status == 424) continue;
    result.status = parts[i].status;
    parse_error_body(parts[i].body, result.code, result.message);
    // "<index>:<message>" names the failed operation.
    auto colon = result.message.find(':');
    int index = -1;
    if (colon != std::string::npos && colon > 0) {
      auto [end, ec] = std::from_chars(result.message.data(), result.message.data() + colon, index);
      if (ec != std::errc() || end != result.message.data() + colon) index = -1;
    }
    if (index >= 0 && static_cast<std::size_t>(index) < operation_count) {
      result.failed_index = index;
      result.message.erase(0, colon + 1);
    } else if (parts.size() == operation_count) {
      result.failed_index = static_cast<int>(i);  // a full list of responses: its position says which
    }
    return result;
  }
  if (parts.size() != operation_count) {
    result.status = 0;
    result.message = "the $batch response lists " + std::to_string(parts.size()) + " responses for " +
                     std::to_string(operation_count) + " operations";
    return result;
  }
  result.committed = true;
  for (auto& part : parts) result.etags.push_back(std::move(part.etag));
  return result;
}

void parse_error_body(std::string_view body, std::string& code, std::string& message) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    auto error = json.find("odata.error");
    if (error != json.end() && error->is_object()) {
      if (auto c = error->find("code"); c != error->end() && c->is_string()) code = c->get<std::string>();
      if (auto m = error->find("message"); m != error->end()) {
        if (m->is_object() && m->contains("value") && (*m)["value"].is_string()) {
          message = (*m)["value"].get<std::string>();
        } else if (m->is_string()) {
          message = m->get<std::string>();
        }
      }
      // The services append "\nRequestId:...\nTime:..." to the message.
      message = message.substr(0, message.find('\n'));
      return;
    }
  }
  // An XML error (<Error><Code>...</Code><Message>...</Message></Error>).
  auto element = [&](std::string_view tag) {
    auto open = body.find("<" + std::string(tag) + ">");
    if (open == std::string_view::npos) return std::string{};
    open += tag.size() + 2;
    auto close = body.find("</" + std::string(tag) + ">", open);
    return close == std::string_view::npos ? std::string{} : std::string(body.substr(open, close - open));
  };
  code = element("Code");
  message = element("Message");
}

}  // namespace toggle::cloud::table_detail
