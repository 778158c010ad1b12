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

// A single pass over the text: this runs on the evaluation path, once per semver condition.
class Scanner {
 public:
  explicit Scanner(std::string_view text) noexcept : t_(text) {}

  bool at(char c) const noexcept { return i_ < t_.size() && t_[i_] == c; }
  bool take(char c) noexcept { return at(c) ? (++i_, true) : false; }
  bool done() const noexcept { return i_ == t_.size(); }

  // A numeric identifier (MAJOR, MINOR, PATCH).
  bool number(std::string_view& out) noexcept {
    const std::size_t start = i_;
    while (i_ < t_.size() && is_digit(t_[i_])) ++i_;
    out = t_.substr(start, i_ - start);
    return is_numeric_identifier(out);
  }

  // Dot-separated, non-empty identifiers of [0-9A-Za-z-]; in a pre-release a numeric one must not
  // have a leading zero. Stops at the first other character.
  bool identifiers(std::string_view& out, bool prerelease) noexcept {
    const std::size_t start = i_;
    for (;;) {
      const std::size_t id = i_;
      while (i_ < t_.size() && is_identifier_char(t_[i_])) ++i_;
      const std::string_view identifier = t_.substr(id, i_ - id);
      if (identifier.empty()) return false;
      if (prerelease && all_digits(identifier) && !is_numeric_identifier(identifier)) return false;
      if (!take('.')) break;
    }
    out = t_.substr(start, i_ - start);
    return true;
  }

 private:
  std::string_view t_;
  std::size_t i_ = 0;
};

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
  Scanner in(text);
  if (!in.take('v')) in.take('V');
  SemVer v;
  if (!in.number(v.major) || !in.take('.') || !in.number(v.minor) || !in.take('.') || !in.number(v.patch))
    return std::nullopt;
  if (in.take('-') && !in.identifiers(v.prerelease, true)) return std::nullopt;
  if (in.take('+') && !in.identifiers(v.build, false)) return std::nullopt;
  if (!in.done()) return std::nullopt;
  return v;
}

int compare_semver(const SemVer& a, const SemVer& b) noexcept {
  if (const int c = compare_numbers(a.major, b.major); c != 0) return c;
  if (const int c = compare_numbers(a.minor, b.minor); c != 0) return c;
  if (const int c = compare_numbers(a.patch, b.patch); c != 0) return c;
  return compare_prereleases(a.prerelease, b.prerelease);
}

}  // namespace toggle::rules
