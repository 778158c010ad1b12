#include "flag_directory.hpp"

#include "toggle/core/error.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle::targeting {

rules::FlagVariants flag_variants_of(const json& flag) {
  auto part = rules::variant_part_of(flag);
  if (!part) return {};
  std::string error;
  auto variants = rules::parse_flag_variants(*part, error);
  if (variants) return *variants;
  log::warn("flag-service sent a flag whose variants do not parse: taken as a boolean flag",
            {{"flag", flag.value("name", "")}, {"error", error}});
  return {};
}

FlagDirectory::FlagDirectory(FeedOptions options, RuleStore& rules)
    : options_(options), rules_(rules), follower_(std::move(options), [this](const json& reply) { apply(reply); }) {}

FlagDirectory::~FlagDirectory() { stop(); }

void FlagDirectory::start() { follower_.start(); }
void FlagDirectory::stop() { follower_.stop(); }

bool FlagDirectory::synced() const {
  std::lock_guard lock(mutex_);
  return synced_;
}

void FlagDirectory::apply(const json& reply) {
  std::map<std::string, rules::FlagVariants, std::less<>> changed;
  for (const auto& f : reply.at("flags")) changed.insert_or_assign(f.at("name").get<std::string>(), flag_variants_of(f));
  std::vector<std::string> gone = reply.at("deleted").get<std::vector<std::string>>();
  bool full = reply.at("full").get<bool>();
  {
    std::lock_guard lock(mutex_);
    if (full) {
      flags_ = std::move(changed);
      synced_ = true;
    } else {
      for (auto& [name, variants] : changed) flags_.insert_or_assign(name, std::move(variants));
    }
    for (const auto& name : gone) flags_.erase(name);
  }
  if (full) {
    std::vector<std::string> absent;
    {
      std::lock_guard lock(mutex_);
      for (const auto& rule : rules_.list())
        if (!flags_.count(rule.flag_name)) absent.push_back(rule.flag_name);
    }
    // The full set may predate a flag created since, and a rule written for it after a direct
    // look-up (require_flag): a rule goes only when flag-service says now that its flag is gone.
    for (auto& name : absent)
      if (lookup(name).status == 404) gone.push_back(std::move(name));
  }
  for (const auto& name : gone)
    if (rules_.remove(name)) log::info("rule deleted with its flag", {{"flag", name}});
}

ClientResponse FlagDirectory::lookup(const std::string& flag_name) const {
  return HttpClient().send({"GET",
                            options_.base_url + "/flags/" + flag_name,
                            {{"Authorization", "Bearer " + options_.api_key}},
                            "",
                            std::chrono::milliseconds(2000)});
}

rules::FlagVariants FlagDirectory::require_flag(const std::string& flag_name, bool ask_flag_service) {
  if (!ask_flag_service) {
    std::lock_guard lock(mutex_);
    if (auto it = flags_.find(flag_name); it != flags_.end()) return it->second;
  }
  auto res = lookup(flag_name);
  if (res.status == 200) return flag_variants_of(json::parse(res.body, nullptr, false));
  if (res.status == 404)
    throw Error::not_found("flag_not_found", "flag '" + flag_name + "' does not exist: create it in flag-service first");
  throw Error::unavailable("flag_service_unavailable",
                           "cannot check that flag '" + flag_name + "' exists: flag-service " +
                               (res.status ? "answered HTTP " + std::to_string(res.status) : res.error));
}

}  // namespace toggle::targeting
