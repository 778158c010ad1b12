// The evaluation event: what evaluation-service emits for every answer, what every transport
// carries (HTTP batches to analytics, SQS and Service Bus messages) and what analytics stores.
// One contract -- fields, JSON, limits, validation -- for both services and every transport.
//
// On the wire an event is the original's JSON plus our fields:
//   {"event_id":"…","user_id":"…","flag_name":"…","result":true,"timestamp":"2026-11-30T13:00:00.000Z"}
// with "variant" and "reason" added when the evaluation served a variant (OFREP).
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace toggle {

struct Event {
  std::string event_id;   // unique: a time-ordered UUID (v7); stored once per id
  std::string user_id;    // 1-256 characters
  std::string flag_name;  // a valid flag name
  bool result = false;
  std::string timestamp;  // RFC 3339; stored in UTC with milliseconds ("…T13:00:00.000Z")
  std::string variant;    // the variant served ("" when none was named)
  std::string reason;     // why: STATIC, TARGETING_MATCH, SPLIT, DISABLED, DEFAULT, ERROR ("" for none)

  bool operator==(const Event&) const = default;
};

inline constexpr std::size_t kMaxEventIdLength = 64;
inline constexpr std::size_t kMaxVariantLength = 100;
// The largest batch analytics' POST /events takes; senders size their batches to fit.
inline constexpr std::size_t kMaxBatchEvents = 10000;
inline constexpr std::size_t kMaxBatchBytes = 4 << 20;

// {"event_id":…,…} / [{…},{…}]: written by hand, it is on evaluation's busy path.
void append_json(std::string& out, const Event& event);
std::string to_json_array(const Event* begin, const Event* end);
inline std::string to_json_array(const std::vector<Event>& events) {
  return to_json_array(events.data(), events.data() + events.size());
}

// One event, checked field by field; throws Error{invalid, "invalid_event"} naming `where` and
// the field ("events[3].timestamp must be an RFC 3339 date-time"). The timestamp comes back in
// UTC. Without an event_id (a message from an older producer) the event gets content_event_id().
Event parse_event(const nlohmann::json& j, const std::string& where = "event", bool id_required = true);
// A JSON array of events (at most kMaxBatchEvents); the same errors, "events[i]…".
std::vector<Event> parse_event_batch(std::string_view text, bool ids_required = true);

// A deterministic id from what the event says (user, flag, result, time): the same message
// delivered twice gets the same id, so it is stored once. A name-based (v8) UUID of its SHA-256.
std::string content_event_id(const Event& event);

}  // namespace toggle
