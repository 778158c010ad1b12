// GET /evaluate?user_id=&flag_name= -> {"flag_name","user_id","result"}, the original's contract.
// Answers from the in-memory snapshot (no I/O on the hot path); a flag the snapshot lacks is
// fetched once (MissFetcher); every answer emits an event (EventSender).
//
// `result` is Resolution::result for the context {"targetingKey": user_id}: for today's flags
// (boolean, the legacy rule or none) exactly the original's answer, computed without building a
// context; for a flag of another type, whether it served a variant other than its default and
// off variants. Events of flags with a variant part also carry the variant and the reason.
#pragma once

#include "catalog.hpp"
#include "event_sender.hpp"
#include "key_gate.hpp"
#include "miss_fetcher.hpp"
#include "toggle/core/router.hpp"

namespace toggle::evaluation {

class EvaluateApi {
 public:
  EvaluateApi(Catalog& catalog, MissFetcher& fetcher, EventSender& events, KeyGate& keys);
  void add_routes(Router& router);
  Reply evaluate(Request& req);

 private:
  Reply decide(std::string flag_name, std::string user_id);
  Response answer(const FlagEntry& flag, const rules::SegmentSet& segments, std::string_view user_id);
  Response answer(const Lookup& lookup, const std::string& flag_name, std::string_view user_id);
  static Response reply(const std::string& flag_name, std::string_view user_id, bool result);

  Catalog& catalog_;
  MissFetcher& fetcher_;
  EventSender& events_;
  KeyGate& keys_;
};

}  // namespace toggle::evaluation
