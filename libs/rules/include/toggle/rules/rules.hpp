// The evaluation rules of ToggleMaster: names, targeting rules, bucketing and evaluate().
//
// Pure computation with no I/O, so the services, the unit tests and the benchmark all link the
// same code. The header only forward-declares nlohmann::json, so including it stays cheap for
// translation units that never touch JSON.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace toggle::rules {

inline constexpr std::size_t kMaxFlagNameLength = 100;
inline constexpr std::size_t kMaxUserIdLength = 256;
inline constexpr std::size_t kMaxUserListSize = 10'000;

// Flag names: ^[A-Za-z0-9_.-]{1,100}$ except "." and "..". Safe to put in a URL path or a log
// line unescaped.
bool is_valid_flag_name(std::string_view name) noexcept;
// user_id: 1..256 characters (code points, counted in UTF-8), no control characters (< 0x20, 0x7f).
bool is_valid_user_id(std::string_view user_id) noexcept;

// Hash for unordered containers keyed by std::string that lets find() take a string_view
// without building a std::string (C++20 heterogeneous lookup; pair it with std::equal_to<>).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// The users of a USER_LIST rule: the original order (for to_json) plus a hash index (for
// contains()). Immutable once built; copies share the data, so copying a flag snapshot that
// holds a 10,000-user rule costs one reference-count increment, not 10,000 strings.
class UserList {
 public:
  UserList() = default;
  explicit UserList(std::vector<std::string> users);

  bool contains(std::string_view user_id) const noexcept;
  // In the order given, each id once (a repeated id is kept where it first appears).
  const std::vector<std::string>& values() const noexcept;
  std::size_t size() const noexcept { return values().size(); }
  bool empty() const noexcept { return size() == 0; }

 private:
  struct Data;
  std::shared_ptr<const Data> data_;
};

enum class RuleType { percentage, user_list };

// "PERCENTAGE" / "USER_LIST", the spelling used on the wire.
std::string_view to_string(RuleType type) noexcept;

struct Rule {
  RuleType type = RuleType::percentage;
  double percentage = 0;  // PERCENTAGE: 0..100 inclusive, fractional allowed
  UserList users;         // USER_LIST

  bool contains_user(std::string_view user_id) const noexcept { return users.contains(user_id); }
};

// Convenience constructors (no validation; parse_rule() is the validating entry point).
Rule percentage_rule(double percentage);
Rule user_list_rule(std::vector<std::string> users);

// Parses and validates rule JSON exactly:
//   {"type":"PERCENTAGE","value":<number 0..100>}
//   {"type":"USER_LIST","values":[<user ids>]}   (at most 10,000 entries; a repeated id is kept once)
// Unknown keys, a missing or unknown type, a value of the wrong JSON type or out of range are
// errors. On error returns std::nullopt and sets `error` to a short English message naming the
// problem, e.g. "rules.type must be one of PERCENTAGE, USER_LIST".
std::optional<Rule> parse_rule(const nlohmann::json& j, std::string& error);
// What a new rule may be (targeting-service's POST and PUT): parse_rule() with whole percentages
// only. parse_rule() itself still reads fractional ones, so rules stored before keep evaluating.
std::optional<Rule> parse_new_rule(const nlohmann::json& j, std::string& error);

// Canonical JSON for a rule: {"type":"PERCENTAGE","value":50} (integral percentages as integers)
// or {"type":"USER_LIST","values":[...in the original order...]}.
nlohmann::json to_json(const Rule& rule);

// The bucket of the original service, kept so users keep their bucket when they migrate:
// SHA-1 over user_id followed directly by flag_name (no separator), first 4 digest bytes as a
// big-endian uint32, mod 100. ("user-123","enable-new-dashboard") -> 25. Does not allocate.
int bucket(std::string_view user_id, std::string_view flag_name) noexcept;

// Everything the evaluator needs to decide one flag.
struct FlagDefinition {
  std::string name;
  bool enabled = false;
  std::optional<Rule> rule;  // present only when a targeting rule exists AND is enabled
};

// As the original: disabled -> false; enabled without rule -> true;
// PERCENTAGE -> bucket(user_id, name) < percentage; USER_LIST -> user_id in the list.
// Does not allocate.
bool evaluate(const FlagDefinition& flag, std::string_view user_id) noexcept;

}  // namespace toggle::rules
