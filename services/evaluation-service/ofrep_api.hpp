// OFREP, the OpenFeature Remote Evaluation Protocol (0.3.0), on evaluation-service:
//
//   POST /ofrep/v1/evaluate/flags/{key}  one flag, for server-side providers
//   POST /ofrep/v1/evaluate/flags        every flag, for client-side providers; ETag, and 304 for
//                                        an If-None-Match that matches
//
// Both take {"context": {"targetingKey": "user-1", ...}} and answer from the same snapshot as
// /evaluate (a flag the snapshot lacks is fetched, as /evaluate does):
//   200 {"key","value","variant","reason","metadata"}        reason: STATIC, TARGETING_MATCH,
//                                                             SPLIT, DISABLED, DEFAULT
//   404 {"key","errorCode":"FLAG_NOT_FOUND","errorDetails"}
//   400 {"key","errorCode","errorDetails"}                    PARSE_ERROR, TARGETING_KEY_MISSING,
//                                                             INVALID_CONTEXT, GENERAL
//   bulk 200 {"flags":[…]} with per-flag failures inside; 400 {"errorCode","errorDetails"} for
//   a body or context that cannot be read; 503 while the flags are not loaded yet.
// With EVALUATE_REQUIRE_KEY=true they need a key with the evaluate scope, in "Authorization:
// Bearer <key>" or "X-API-Key: <key>" (401/403 {"errorCode":"MISSING_KEY"|…,"errorDetails"}).
//
// Events: each single evaluation of an existing flag emits one, with the variant and the reason,
// and targetingKey as its user_id (kAnonymousUser when the context has no usable key). A bulk
// request is a client-side provider fetching every flag on each context change, not the
// application reading them: it emits events only with OFREP_BULK_EVENTS=true (one per flag).
#pragma once

#include <string>
#include <string_view>

#include "catalog.hpp"
#include "event_sender.hpp"
#include "key_gate.hpp"
#include "miss_fetcher.hpp"
#include "toggle/core/router.hpp"

namespace toggle::evaluation {

// The user_id of an OFREP event whose context has no targetingKey usable as a user_id (absent,
// empty, over 256 characters, control characters).
inline constexpr std::string_view kAnonymousUser = "(anonymous)";

// Largest OFREP request body: a context of up to kMaxContextAttributes attributes.
inline constexpr std::size_t kMaxOfrepBodyBytes = 1 << 20;

// Whether an If-None-Match header value matches `etag` (weak comparison, RFC 9110 §13.1.2:
// W/"x" matches "x"; "*" matches anything).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

class OfrepApi {
 public:
  struct Options {
    bool bulk_events = false;  // OFREP_BULK_EVENTS
  };
  OfrepApi(Catalog& catalog, MissFetcher& fetcher, EventSender& events, KeyGate& keys, Options options);
  void add_routes(Router& router);
  Reply evaluate_flag(Request& req);
  Reply evaluate_flags(Request& req);

 private:
  // The API key, checked from the headers before a body is read (RouteOptions::before_body), so
  // that a refused client cannot make the service read 1 MiB first. The handlers check it again
  // (from the cache by then): the server skips this when the body came with the headers.
  Reply check_key(const Request& req);
  Reply decide(const std::string& key, const rules::Context& context);
  Response answer(const FlagEntry& entry, const rules::SegmentSet& segments, const rules::Context& context);
  Response answer(const Lookup& lookup, const std::string& key, const rules::Context& context);
  Response bulk(const rules::Context& context, std::string_view if_none_match);
  void emit(const FlagEntry& entry, const rules::Resolution& resolution, const rules::Context& context);

  Catalog& catalog_;
  MissFetcher& fetcher_;
  EventSender& events_;
  KeyGate& keys_;
  Options options_;
};

}  // namespace toggle::evaluation
