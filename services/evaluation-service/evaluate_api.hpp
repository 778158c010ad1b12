// GET /evaluate?user_id=&flag_name= -> {"flag_name","user_id","result"}, the original's contract.
// Answers from the in-memory snapshot (no I/O on the hot path); a flag the snapshot lacks is
// fetched once (MissFetcher); every answer emits an event (EventSender).
#pragma once

#include <memory>
#include <optional>

#include "catalog.hpp"
#include "event_sender.hpp"
#include "miss_fetcher.hpp"
#include "toggle/core/auth.hpp"
#include "toggle/core/router.hpp"
#include "toggle/core/worker_pool.hpp"

namespace toggle::evaluation {

class EvaluateApi {
 public:
  // `keys` non-null: /evaluate requires a valid API key with the evaluate scope
  // (EVALUATE_REQUIRE_KEY=true); first sights of a key are checked on `key_check_threads`.
  EvaluateApi(Catalog& catalog, MissFetcher& fetcher, EventSender& events, KeyValidator* keys,
              unsigned key_check_threads = 2);
  void add_routes(Router& router);
  Reply evaluate(Request& req);
  // Waits for the key checks under way (shutdown, after the server stopped).
  void stop() { key_checks_.join(); }

 private:
  Reply decide(std::string flag_name, std::string user_id);
  Response answer(const rules::FlagDefinition& flag, std::string_view user_id);
  Response answer(const Lookup& lookup, const std::string& flag_name, std::string_view user_id);

  Catalog& catalog_;
  MissFetcher& fetcher_;
  EventSender& events_;
  KeyValidator* keys_;
  WorkerPool key_checks_;
};

}  // namespace toggle::evaluation
