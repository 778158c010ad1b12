// The rule JSON parser and validator (libs/rules), as flag-service and targeting-service run them
// on a write and evaluation-service on every change it receives, then resolve() on what passed.
// One input is a JSON document:
//   {"flag": {variant part}, "enabled": bool, "rules": <rules field>,
//    "segments": [segment, ...], "context": {OFREP context}}
// Properties: nothing crashes, leaks or hits undefined behaviour; what parses writes back to
// canonical JSON that parses again to the same canonical JSON.
#include <nlohmann/json.hpp>

#include "fuzz.hpp"
#include "toggle/core/json.hpp"
#include "toggle/rules/context.hpp"
#include "toggle/rules/flag.hpp"
#include "toggle/rules/resolve.hpp"
#include "toggle/rules/rules.hpp"
#include "toggle/rules/targeting.hpp"

using nlohmann::json;
namespace rules = toggle::rules;

namespace {

const json* member(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it == doc.end() ? nullptr : &*it;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz::text_of(data, size);
  if (!toggle::nesting_within(text, 64)) return 0;  // the services refuse these before parsing
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return -1;
  std::string error;

  const json* enabled = member(doc, "enabled");
  rules::Flag flag{"fuzz-flag", !enabled || !enabled->is_boolean() || enabled->get<bool>(), {}};
  if (const json* f = member(doc, "flag")) {
    if (auto part = rules::variant_part_of(*f)) {
      if (auto variants = rules::parse_flag_variants(*part, error)) {
        json canonical = rules::to_json(*variants);
        auto again = rules::parse_flag_variants(canonical, error);
        fuzz::require(again && rules::to_json(*again) == canonical, "flag variants: canonical JSON round trip");
        flag.variants = *variants;
      }
    }
  }

  std::vector<rules::Segment> segments;
  if (const json* list = member(doc, "segments"); list && list->is_array()) {
    for (const auto& s : *list) {
      if (auto segment = rules::parse_segment(s, error)) {
        json canonical = rules::to_json(*segment);
        auto again = rules::parse_segment(canonical, error);
        fuzz::require(again && rules::to_json(*again) == canonical, "segment: canonical JSON round trip");
        segments.push_back(*segment);
      }
    }
  }
  rules::SegmentSet segment_set(segments);

  const json* field = member(doc, "rules");
  if (!field) return 0;
  auto targeting = rules::parse_targeting(*field, error);
  if (!targeting) return 0;
  json canonical = rules::to_json(*targeting);
  auto again = rules::parse_targeting(canonical, error);
  fuzz::require(again && rules::to_json(*again) == canonical, "targeting: canonical JSON round trip");
  targeting->segments_used();
  targeting->variants_served();
  bool checked = rules::check_targeting(
      *targeting, &flag.variants, [&](std::string_view name) { return segment_set.find(name) != nullptr; }, error);

  rules::Context context;
  if (const json* c = member(doc, "context")) {
    auto parsed = rules::Context::from_json(*c, error);
    if (!parsed) return 0;
    context = std::move(*parsed);
  }
  // Evaluation resolves what it receives even when a check would refuse it now (a segment deleted
  // since): resolve() must answer either way.
  rules::Resolution resolution = rules::resolve(flag, &*targeting, segment_set, context);
  if (resolution.error != rules::ErrorCode::none) rules::error_details(resolution);
  fuzz::require(resolution.error != rules::ErrorCode::none || resolution.variant != nullptr,
                "resolve: a variant unless an error");
  (void)checked;
  return 0;
}
