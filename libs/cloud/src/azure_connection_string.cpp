#include "toggle/cloud/azure_connection_string.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "toggle/cloud/azure_signing.hpp"

namespace toggle::cloud {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Key=Value pairs by lower-cased key. Messages name keys and positions, never values (a value
// may be a key, and a part without `=` may be a key pasted on its own).
class Pairs {
 public:
  Pairs(std::string_view text, const char* what) : what_(what) {
    text = trim(text);
    if (text.empty()) fail("is empty");
    std::size_t index = 0;
    while (!text.empty()) {
      auto semi = text.find(';');
      std::string_view part = trim(text.substr(0, semi));
      text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
      ++index;
      if (part.empty()) continue;  // "a=1;;b=2" and a trailing ';' are common
      auto eq = part.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        fail("has a part (number " + std::to_string(index) + ") that is not Key=Value; pairs are separated by ';'");
      }
      std::string key = lower(trim(part.substr(0, eq)));
      if (!values_.emplace(key, std::string(trim(part.substr(eq + 1)))).second) {
        fail("names " + std::string(trim(part.substr(0, eq))) + " twice");
      }
    }
  }

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::string get(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? std::string{} : it->second;
  }
  // A boolean flag such as UseDevelopmentEmulator: absent is false.
  bool flag(const std::string& key, const char* name) const {
    if (!has(key)) return false;
    std::string v = lower(get(key));
    if (v == "true") return true;
    if (v == "false") return false;
    fail(std::string(name) + " must be true or false");
  }
  [[noreturn]] void fail(const std::string& problem) const {
    throw ConnectionStringError(std::string(what_) + " connection string " + problem);
  }

 private:
  const char* what_;
  std::map<std::string, std::string> values_;
};

// "host[:port]" -> host and port (0 when absent).
void split_host_port(const Pairs& pairs, std::string_view authority, std::string& host, int& port) {
  auto colon = authority.rfind(':');
  host = std::string(authority.substr(0, colon));
  port = 0;
  if (colon != std::string_view::npos) {
    auto digits = authority.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535) {
      pairs.fail("has an Endpoint port that is not a number from 1 to 65535");
    }
  }
  if (host.empty()) pairs.fail("has an Endpoint without a host name");
}

}  // namespace

ServiceBusConnectionString parse_servicebus_connection_string(std::string_view text) {
  Pairs pairs(text, "Service Bus");
  ServiceBusConnectionString out;
  if (pairs.has("sharedaccesssignature")) {
    pairs.fail("uses SharedAccessSignature, which is not supported: give SharedAccessKeyName and SharedAccessKey");
  }
  out.development_emulator = pairs.flag("usedevelopmentemulator", "UseDevelopmentEmulator");

  std::string endpoint = pairs.get("endpoint");
  if (endpoint.empty()) pairs.fail("lacks Endpoint (Endpoint=sb://<namespace>.servicebus.windows.net/)");
  constexpr std::string_view scheme = "sb://";
  if (lower(endpoint).rfind(scheme, 0) != 0) {
    pairs.fail("has Endpoint=" + endpoint + ", which does not start with sb://");
  }
  std::string_view rest = std::string_view(endpoint).substr(scheme.size());
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && rest.substr(slash) != "/") {
    pairs.fail("has an Endpoint with a path; give the queue in EntityPath or AZURE_SERVICEBUS_QUEUE");
  }
  split_host_port(pairs, authority, out.host, out.port);
  if (out.port == 0) out.port = out.development_emulator ? 5672 : 5671;

  out.key_name = pairs.get("sharedaccesskeyname");
  out.key = pairs.get("sharedaccesskey");
  // The development emulator needs no token, so its strings may leave the key out.
  if (!out.development_emulator) {
    if (out.key_name.empty()) pairs.fail("lacks SharedAccessKeyName");
    if (out.key.empty()) pairs.fail("lacks SharedAccessKey");
  }
  if (pairs.has("entitypath")) {
    out.entity_path = pairs.get("entitypath");
    if (out.entity_path.empty()) pairs.fail("has an empty EntityPath");
  }
  return out;
}

TableConnectionString parse_table_connection_string(std::string_view text) {
  Pairs pairs(text, "Table");
  TableConnectionString out;
  if (pairs.flag("usedevelopmentstorage", "UseDevelopmentStorage")) {
    if (pairs.has("developmentstorageproxyuri")) pairs.fail("uses DevelopmentStorageProxyUri, which is not supported");
    // The storage emulator's documented, public development account.
    out.account = "devstoreaccount1";
    out.key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    out.endpoint = "http://127.0.0.1:10002/devstoreaccount1";
    return out;
  }
  if (pairs.has("sharedaccesssignature")) {
    pairs.fail("uses SharedAccessSignature, which is not supported: give AccountName and AccountKey");
  }
  if (pairs.has("accountendpoint") && !pairs.has("tableendpoint")) {
    pairs.fail(
        "is a Cosmos DB SQL API string (AccountEndpoint=...); use the account's Table API connection string "
        "(with TableEndpoint=https://<account>.table.cosmos.azure.com:443/)");
  }
  out.account = pairs.get("accountname");
  if (out.account.empty()) pairs.fail("lacks AccountName");
  if (!std::all_of(out.account.begin(), out.account.end(),
                   [](unsigned char c) { return std::isalnum(c) || c == '-'; })) {
    pairs.fail("has an AccountName with characters other than letters, digits and '-'");
  }
  out.key = pairs.get("accountkey");
  if (out.key.empty()) pairs.fail("lacks AccountKey");
  if (!azure::base64_decode(out.key)) pairs.fail("has an AccountKey that is not valid base64");

  std::string protocol = lower(pairs.get("defaultendpointsprotocol"));
  if (!protocol.empty() && protocol != "http" && protocol != "https") {
    pairs.fail("has DefaultEndpointsProtocol=" + protocol + "; expected https or http");
  }
  std::string endpoint = pairs.get("tableendpoint");
  if (endpoint.empty()) {
    // As the Storage SDKs derive it: <protocol>://<account>.table.<suffix>.
    std::string suffix = pairs.has("endpointsuffix") ? pairs.get("endpointsuffix") : "core.windows.net";
    if (suffix.empty()) pairs.fail("has an empty EndpointSuffix");
    endpoint = (protocol.empty() ? "https" : protocol) + "://" + out.account + ".table." + suffix;
  }
  std::string scheme = lower(endpoint.substr(0, endpoint.find("://") + 3));
  if (scheme != "http://" && scheme != "https://") {
    pairs.fail("has TableEndpoint=" + endpoint + ", which does not start with https:// or http://");
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (endpoint.size() <= scheme.size()) pairs.fail("has a TableEndpoint without a host name");
  if (endpoint.find_first_of("?#") != std::string::npos) pairs.fail("has a TableEndpoint with a query or fragment");
  out.endpoint = endpoint;
  return out;
}

}  // namespace toggle::cloud
