// Micro-benchmarks of the evaluation hot path (libs/rules). One benchmark per row of the
// results table: static flag, PERCENTAGE rule, 1,000-user USER_LIST, and a snapshot miss.
//
// Inputs are built before the timed loop, so the loop measures evaluate()/find() only and
// allocates nothing. User ids vary per iteration so that neither the branch predictor nor the
// cache sees the same key every time.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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

}  // namespace
