#include "toggle/cloud/azure_signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cstdio>
#include <ctime>

namespace toggle::cloud::azure {

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if (std::isalnum(c) && c < 0x80) {
      out += static_cast<char>(c);
    } else if (c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    bool padding_allowed = i >= text.size() - 2 && c == '=' && (i == text.size() - 1 || text.back() == '=');
    if (!(std::isalnum(c) && c < 0x80) && c != '+' && c != '/' && !padding_allowed) return std::nullopt;
  }
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t padding = text.back() == '=' ? (text[text.size() - 2] == '=' ? 2 : 1) : 0;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &length);
  return std::string(reinterpret_cast<char*>(digest), length);
}

std::string servicebus_sas_token(std::string_view resource_uri, std::string_view key_name, std::string_view key,
                                 std::int64_t expiry) {
  std::string sr = url_encode(resource_uri);
  std::string se = std::to_string(expiry);
  std::string signature = base64_encode(hmac_sha256(key, sr + "\n" + se));
  return "SharedAccessSignature sr=" + sr + "&sig=" + url_encode(signature) + "&se=" + se +
         "&skn=" + std::string(key_name);
}

std::string http_date(std::chrono::system_clock::time_point time) {
  // Not strftime: %a and %b follow the locale, and the date is signed byte for byte.
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

std::string table_shared_key_string_to_sign(std::string_view method, std::string_view content_md5,
                                            std::string_view content_type, std::string_view date,
                                            std::string_view canonicalized_resource) {
  std::string out;
  for (std::string_view part : {method, content_md5, content_type, date}) {
    out += part;
    out += '\n';
  }
  out += canonicalized_resource;
  return out;
}

std::string table_shared_key_lite_string_to_sign(std::string_view date, std::string_view canonicalized_resource) {
  return std::string(date) + "\n" + std::string(canonicalized_resource);
}

std::string table_authorization(std::string_view scheme, std::string_view account, std::string_view decoded_key,
                                std::string_view string_to_sign) {
  return std::string(scheme) + " " + std::string(account) + ":" +
         base64_encode(hmac_sha256(decoded_key, string_to_sign));
}

}  // namespace toggle::cloud::azure
