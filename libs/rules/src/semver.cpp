// SemVer 2.0.0 parsing and precedence, on views (no allocation: it runs on the evaluation path).
#include "toggle/rules/semver.hpp"

#include <cstddef>

namespace toggle::rules {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_identifier_char(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}
bool all_digits(std::string_view s) noexcept {
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

// <numeric identifier>: "0" or digits without a leading zero.
bool is_numeric_identifier(std::string_view s) noexcept {
  return !s.empty() && all_digits(s) && (s.size() == 1 || s[0] != '0');
}

// Takes the text up to (not including) the first of `stops` or the end.
std::string_view take_until(std::string_view& rest, std::string_view stops) noexcept {
  const std::size_t end = rest.find_first_of(stops);
  const std::string_view part = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return part;
}

// Dot-separated, non-empty identifiers of [0-9A-Za-z-]; in a pre-release a numeric one must not
// have a leading zero.
bool valid_identifiers(std::string_view s, bool prerelease) noexcept {
  if (s.empty()) return false;
  for (;;) {
    const std::size_t dot = s.find('.');
    const std::string_view id = s.substr(0, dot);
    if (id.empty()) return false;
    for (char c : id)
      if (!is_identifier_char(c)) return false;
    if (prerelease && all_digits(id) && !is_numeric_identifier(id)) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// Numbers of any length without leading zeros: the longer is larger, else compare digit by digit.
int compare_numbers(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int compare_identifiers(std::string_view a, std::string_view b) noexcept {
  const bool a_numeric = all_digits(a), b_numeric = all_digits(b);
  if (a_numeric && b_numeric) return compare_numbers(a, b);
  if (a_numeric != b_numeric) return a_numeric ? -1 : 1;  // numeric identifiers are lower
  const int c = a.compare(b);                               // ASCII order
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int compare_prereleases(std::string_view a, std::string_view b) noexcept {
  if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? 1 : -1);  // release > pre-release
  for (;;) {
    const std::size_t da = a.find('.'), db = b.find('.');
    if (const int c = compare_identifiers(a.substr(0, da), b.substr(0, db)); c != 0) return c;
    if (da == std::string_view::npos || db == std::string_view::npos) {
      // All shared identifiers equal: the one with more identifiers is higher.
      return da == db ? 0 : (da == std::string_view::npos ? -1 : 1);
    }
    a.remove_prefix(da + 1);
    b.remove_prefix(db + 1);
  }
}

}  // namespace

std::optional<SemVer> parse_semver(std::string_view text) noexcept {
  if (!text.empty() && (text[0] == 'v' || text[0] == 'V')) text.remove_prefix(1);
  SemVer v;
  std::string_view rest = text;
  v.major = take_until(rest, ".");
  if (rest.empty()) return std::nullopt;
  rest.remove_prefix(1);
  v.minor = take_until(rest, ".");
  if (rest.empty()) return std::nullopt;
  rest.remove_prefix(1);
  v.patch = take_until(rest, "-+");
  if (!is_numeric_identifier(v.major) || !is_numeric_identifier(v.minor) || !is_numeric_identifier(v.patch))
    return std::nullopt;
  if (!rest.empty() && rest[0] == '-') {
    rest.remove_prefix(1);
    v.prerelease = take_until(rest, "+");
    if (!valid_identifiers(v.prerelease, true)) return std::nullopt;
  }
  if (!rest.empty()) {  // then it starts with '+'
    rest.remove_prefix(1);
    v.build = rest;
    if (!valid_identifiers(v.build, false)) return std::nullopt;
  }
  return v;
}

int compare_semver(const SemVer& a, const SemVer& b) noexcept {
  if (const int c = compare_numbers(a.major, b.major); c != 0) return c;
  if (const int c = compare_numbers(a.minor, b.minor); c != 0) return c;
  if (const int c = compare_numbers(a.patch, b.patch); c != 0) return c;
  return compare_prereleases(a.prerelease, b.prerelease);
}

}  // namespace toggle::rules
