// Names, the user list and evaluate(): the parts of the rules library that never touch JSON.
#include "toggle/rules/rules.hpp"

#include "legacy.hpp"

#include <array>
#include <unordered_set>
#include <utility>

namespace toggle::rules {
namespace {

// Table lookup instead of std::regex: one load per byte, no allocation, no locale.
constexpr std::array<bool, 256> make_flag_name_chars() {
  std::array<bool, 256> ok{};
  for (int c = 'a'; c <= 'z'; ++c) ok[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) ok[c] = true;
  for (int c = '0'; c <= '9'; ++c) ok[c] = true;
  ok['_'] = ok['.'] = ok['-'] = true;
  return ok;
}
constexpr std::array<bool, 256> kFlagNameChars = make_flag_name_chars();

bool is_control_byte(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

}  // namespace

bool is_valid_flag_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxFlagNameLength) return false;
  // "." and ".." cannot be addressed in a URL path (/flags/..): clients and proxies resolve them.
  if (name == "." || name == "..") return false;
  for (unsigned char c : name) {
    if (!kFlagNameChars[c]) return false;
  }
  return true;
}

bool is_valid_user_id(std::string_view user_id) noexcept {
  std::size_t characters = 0;  // code points: every byte that is not a UTF-8 continuation byte
  for (unsigned char c : user_id) {
    if (is_control_byte(c)) return false;
    characters += (c & 0xc0) != 0x80;
  }
  return characters >= 1 && characters <= kMaxUserIdLength;
}

// The index holds string_views into `values`. That is safe because Data is immutable and never
// copied or moved once built (it lives behind shared_ptr<const Data>), so the strings stay put.
struct UserList::Data {
  std::vector<std::string> values;
  std::unordered_set<std::string_view> index;

  // Each id once, in the order of its first appearance.
  explicit Data(std::vector<std::string> users) {
    values.reserve(users.size());
    index.reserve(users.size());
    for (std::string& user : users)
      if (index.find(user) == index.end()) index.insert(values.emplace_back(std::move(user)));
  }
  Data(const Data&) = delete;
  Data& operator=(const Data&) = delete;
};

UserList::UserList(std::vector<std::string> users) : data_(std::make_shared<const Data>(std::move(users))) {}

bool UserList::contains(std::string_view user_id) const noexcept {
  return data_ && data_->index.find(user_id) != data_->index.end();
}

const std::vector<std::string>& UserList::values() const noexcept {
  static const std::vector<std::string> kEmpty;
  return data_ ? data_->values : kEmpty;
}

std::string_view to_string(RuleType type) noexcept { return type == RuleType::percentage ? "PERCENTAGE" : "USER_LIST"; }

Rule percentage_rule(double percentage) { return Rule{RuleType::percentage, percentage, {}}; }

Rule user_list_rule(std::vector<std::string> users) { return Rule{RuleType::user_list, 0, UserList(std::move(users))}; }

bool detail::in_percentage(double percentage, std::string_view user_id, std::string_view flag_name) noexcept {
  // Buckets are 0..99, so 0 % and 100 % rollouts (kill switch, full launch) decide without
  // hashing; the answer is the same as bucket() < percentage.
  if (percentage <= 0) return false;
  if (percentage >= 100) return true;
  return bucket(user_id, flag_name) < percentage;
}

bool evaluate(const FlagDefinition& flag, std::string_view user_id) noexcept {
  if (!flag.enabled) return false;
  if (!flag.rule) return true;
  switch (flag.rule->type) {
    case RuleType::percentage:
      return detail::in_percentage(flag.rule->percentage, user_id, flag.name);
    case RuleType::user_list:
      return flag.rule->contains_user(user_id);
  }
  return false;  // unreachable for a valid RuleType; fail closed
}

}  // namespace toggle::rules
