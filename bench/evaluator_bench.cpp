// Micro-benchmarks of the evaluation hot path (libs/rules). One benchmark per row of the
// results table: static flag, PERCENTAGE rule, 1,000-user USER_LIST, and a snapshot miss; then the
// flag model's resolve(): one flag with 10 rules of 5 conditions, and a bulk of 100 flags.
//
// Inputs are built before the timed loop, so the loop measures evaluate()/find() only and
// allocates nothing. User ids vary per iteration so that neither the branch predictor nor the
// cache sees the same key every time.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "toggle/rules/resolve.hpp"
#include "toggle/rules/rules.hpp"

namespace {

using toggle::rules::evaluate;
using toggle::rules::FlagDefinition;

constexpr std::size_t kIds = 1024;  // a power of two, so `i & (kIds - 1)` cycles through them

std::vector<std::string> make_ids(std::string_view prefix, std::size_t count, std::size_t first = 0) {
  std::vector<std::string> ids;
  ids.reserve(count);
  for (std::size_t i = 0; i < count; ++i) ids.push_back(std::string(prefix) + std::to_string(first + i));
  return ids;
}

// Runs `evaluate` over the precomputed ids, one per iteration.
void run_evaluate(benchmark::State& state, const FlagDefinition& flag, const std::vector<std::string>& ids) {
  const std::size_t mask = ids.size() - 1;  // ids.size() is a power of two
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(evaluate(flag, ids[i++ & mask]));
  }
}

void BM_EvaluateStaticFlag(benchmark::State& state) {
  const FlagDefinition flag{"enable-new-dashboard", true, std::nullopt};
  run_evaluate(state, flag, make_ids("user-", kIds));
}
BENCHMARK(BM_EvaluateStaticFlag);

void BM_EvaluatePercentage(benchmark::State& state) {
  const FlagDefinition flag{"enable-new-dashboard", true, toggle::rules::percentage_rule(50)};
  run_evaluate(state, flag, make_ids("user-", kIds));
}
BENCHMARK(BM_EvaluatePercentage);

void BM_EvaluateUserList1000(benchmark::State& state) {
  constexpr std::size_t kUsers = 1000;
  const FlagDefinition flag{"beta-testers", true, toggle::rules::user_list_rule(make_ids("user-", kUsers))};
  // Separate copies (as a request would carry), 256 members centred on the middle of the list.
  const std::vector<std::string> ids = make_ids("user-", 256, kUsers / 2 - 128);
  run_evaluate(state, flag, ids);
}
BENCHMARK(BM_EvaluateUserList1000);

// The evaluator's snapshot is keyed by flag name and looked up with the request's string_view;
// a miss must not build a std::string.
void BM_EvaluateFlagNotFound(benchmark::State& state) {
  std::unordered_map<std::string, FlagDefinition, toggle::rules::StringHash, std::equal_to<>> snapshot;
  for (const std::string& name : make_ids("flag-", 10'000)) {
    snapshot.emplace(name, FlagDefinition{name, true, std::nullopt});
  }
  const std::vector<std::string> missing = make_ids("missing-flag-", kIds);
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string_view name = missing[i++ & (kIds - 1)];
    benchmark::DoNotOptimize(snapshot.find(name) == snapshot.end());
  }
}
BENCHMARK(BM_EvaluateFlagNotFound);

// ---------------------------------------------------------------------------------------------
// The flag model: resolve()

using nlohmann::json;
using toggle::rules::Context;
using toggle::rules::Flag;
using toggle::rules::Targeting;

template <class T>
T parsed(std::optional<T> value, const std::string& error) {
  if (!value) throw std::runtime_error("bench input does not parse: " + error);
  return std::move(*value);
}

// Ten rules of five conditions each, all different: a list, an RE2 pattern, a SemVer comparison,
// a number, and the plan. The contexts below (plan "tier-9", an @example.com e-mail, version
// 2.3.x, age >= 30) match rule 9 only, which serves a split, so the hash runs too.
//   kFailOnPlan:  rules 0-8 differ from the context only in their plan (tier-0 .. tier-8), the
//                 scenario of the issue's target;
//   kFailOnRegex: rules 0-8 differ only in their pattern (@example0 .. @example8), so each fails
//                 on its most expensive condition: the worst case for ten rules.
enum class Miss { kFailOnPlan, kFailOnRegex };

json ten_rules(Miss miss) {
  json rules = json::array();
  for (int i = 0; i < 10; ++i) {
    const std::string n = std::to_string(i);
    const bool last = i == 9;
    const std::string domain = miss == Miss::kFailOnRegex && !last ? "example" + n : "example";
    const std::string plan = miss == Miss::kFailOnPlan ? "tier-" + n : "tier-9";
    json conditions = json::array({
        {{"attribute", "country"}, {"operator", "in"}, {"values", {"BR", "PT", "ES", "MX", "AR", "C" + n}}},
        {{"attribute", "email"}, {"operator", "matches"}, {"value", "^[a-z0-9.]+@" + domain + "\\.(com|org)$"}},
        {{"attribute", "app.version"}, {"operator", "semver_gte"}, {"value", "2.0." + n + "-rc.1"}},
        {{"attribute", "age"}, {"operator", "gte"}, {"value", 18 + i}},
        {{"attribute", "plan"}, {"operator", "eq"}, {"value", plan}},
    });
    json serve = last ? json{{"split", {{{"variant", "blue"}, {"weight", 5000}}, {{"variant", "green"}, {"weight", 5000}}}}}
                      : json{{"variant", "red"}};
    rules.push_back({{"name", "rule-" + n}, {"conditions", conditions}, {"serve", serve}});
  }
  return rules;
}

const char* kColorVariants = R"({"type":"string","variants":{"blue":"#00f","green":"#0f0","red":"#f00","grey":"#888"},
                                 "default_variant":"grey","off_variant":"grey"})";

Flag colors_flag(std::string name) {
  std::string error;
  return Flag{std::move(name), true, parsed(toggle::rules::parse_flag_variants(json::parse(kColorVariants), error), error)};
}

// An OFREP request's context; `i` varies the key and the e-mail (so the pattern sees new text).
json request_context(std::size_t i) {
  return {{"targetingKey", "user-" + std::to_string(i)},
          {"email", "user." + std::to_string(i) + "@example.com"},
          {"country", "BR"},
          {"plan", "tier-9"},
          {"age", 30 + static_cast<int>(i % 40)},
          {"app", {{"version", "2.3." + std::to_string(i % 10)}, {"platform", "ios"}}},
          {"beta", i % 2 == 0},
          {"groups", {"staff", "eu"}}};
}

std::vector<Context> make_contexts(std::size_t count) {
  std::vector<Context> contexts;
  std::string error;
  for (std::size_t i = 0; i < count; ++i) contexts.push_back(parsed(Context::from_json(request_context(i), error), error));
  return contexts;
}

void run_ten_rules(benchmark::State& state, Miss miss) {
  std::string error;
  const Targeting targeting = parsed(toggle::rules::parse_targeting(ten_rules(miss), error), error);
  const Flag flag = colors_flag("checkout-theme");
  const toggle::rules::SegmentSet segments;
  const std::vector<Context> contexts = make_contexts(256);
  for (const Context& c : contexts) {  // every context matches rule 9 only
    if (toggle::rules::resolve(flag, &targeting, segments, c).rule != 9) throw std::runtime_error("bench: wrong rule");
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(toggle::rules::resolve(flag, &targeting, segments, contexts[i++ & 255]));
  }
}

void BM_ResolveTenRulesFiveConditions(benchmark::State& state) { run_ten_rules(state, Miss::kFailOnPlan); }
BENCHMARK(BM_ResolveTenRulesFiveConditions);

void BM_ResolveTenRulesWorstCase(benchmark::State& state) { run_ten_rules(state, Miss::kFailOnRegex); }
BENCHMARK(BM_ResolveTenRulesWorstCase);

// 100 flags as a bulk request sees them: 25 with the 10-rule targeting above (the plan-miss kind), 25 with two short
// rules (a segment and a split), 25 legacy PERCENTAGE rules, 25 without targeting.
struct BulkFlags {
  std::vector<Flag> flags;
  std::vector<std::optional<Targeting>> targeting;
  toggle::rules::SegmentSet segments;
};

BulkFlags bulk_flags() {
  std::string error;
  BulkFlags b;
  b.segments = toggle::rules::SegmentSet({parsed(toggle::rules::parse_segment(json::parse(R"(
      {"name":"latam-pro","conditions":[{"attribute":"country","operator":"in","values":["BR","MX","AR"]},
                                        {"attribute":"plan","operator":"starts_with","value":"tier-"}]})"), error), error)});
  const Targeting heavy = parsed(toggle::rules::parse_targeting(ten_rules(Miss::kFailOnPlan), error), error);
  const Targeting light = parsed(toggle::rules::parse_targeting(json::parse(R"([
      {"conditions":[{"operator":"in_segment","values":["latam-pro"]},{"attribute":"beta","operator":"eq","value":true}],
       "serve":{"variant":"red"}},
      {"serve":{"split":[{"variant":"blue","weight":2500},{"variant":"green","weight":7500}]}}])"), error), error);
  for (int i = 0; i < 100; ++i) {
    const std::string name = "flag-" + std::to_string(i);
    switch (i % 4) {
      case 0: b.flags.push_back(colors_flag(name)); b.targeting.push_back(heavy); break;
      case 1: b.flags.push_back(colors_flag(name)); b.targeting.push_back(light); break;
      case 2: b.flags.push_back(Flag{name, true, {}}); b.targeting.push_back(Targeting(toggle::rules::percentage_rule(30))); break;
      default: b.flags.push_back(Flag{name, true, {}}); b.targeting.push_back(std::nullopt); break;
    }
  }
  return b;
}

// resolve() for 100 flags, one context (already built).
void BM_Resolve100FlagsOneContext(benchmark::State& state) {
  const BulkFlags b = bulk_flags();
  const std::vector<Context> contexts = make_contexts(256);
  std::size_t i = 0;
  for (auto _ : state) {
    const Context& c = contexts[i++ & 255];
    for (std::size_t f = 0; f < b.flags.size(); ++f) {
      const auto& t = b.targeting[f];
      benchmark::DoNotOptimize(toggle::rules::resolve(b.flags[f], t ? &*t : nullptr, b.segments, c));
    }
  }
}
BENCHMARK(BM_Resolve100FlagsOneContext);

// The bulk request's evaluation work server-side, end to end: parse the body, build the context,
// resolve 100 flags and write each answer's key, variant, reason and value as JSON text.
void BM_BulkRequest100Flags(benchmark::State& state) {
  const BulkFlags b = bulk_flags();
  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < 256; ++i) bodies.push_back(json{{"context", request_context(i)}}.dump());
  std::string out;
  std::size_t i = 0;
  for (auto _ : state) {
    const json body = json::parse(bodies[i++ & 255]);
    std::string error;
    const std::optional<Context> c = Context::from_json(body.at("context"), error);
    out.clear();
    out += R"({"flags":[)";
    for (std::size_t f = 0; f < b.flags.size(); ++f) {
      const auto& t = b.targeting[f];
      const toggle::rules::Resolution r = toggle::rules::resolve(b.flags[f], t ? &*t : nullptr, b.segments, *c);
      out += R"({"key":")";
      out += b.flags[f].name;
      out += R"(","reason":")";
      out += toggle::rules::to_string(r.reason);
      if (r.variant) {
        out += R"(","variant":")";
        out += r.variant->name;
        out += R"(","value":)";
        out += r.variant->value_json;
      } else {
        out += '"';
      }
      out += f + 1 < b.flags.size() ? "}," : "}";
    }
    out += "]}";
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_BulkRequest100Flags);

// Building a context from an OFREP request's parsed JSON (once per request).
void BM_ContextFromJson(benchmark::State& state) {
  std::vector<json> contexts;
  for (std::size_t i = 0; i < 256; ++i) contexts.push_back(request_context(i));
  std::size_t i = 0;
  std::string error;
  for (auto _ : state) benchmark::DoNotOptimize(Context::from_json(contexts[i++ & 255], error));
}
BENCHMARK(BM_ContextFromJson);

// A flag without targeting through resolve(), to compare with BM_EvaluateStaticFlag.
void BM_ResolveStaticFlag(benchmark::State& state) {
  const Flag flag{"enable-new-dashboard", true, {}};
  const std::vector<Context> contexts = make_contexts(256);
  const toggle::rules::SegmentSet segments;
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(toggle::rules::resolve(flag, nullptr, segments, contexts[i++ & 255]));
}
BENCHMARK(BM_ResolveStaticFlag);

}  // namespace
