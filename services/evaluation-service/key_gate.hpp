// The API key check of evaluation's routes (/evaluate and OFREP) when EVALUATE_REQUIRE_KEY=true:
// a key seen recently is checked from KeyValidator's cache, on the I/O thread; the first sight of
// a key asks auth-service on a few threads of its own, so that the I/O threads never wait on it.
#pragma once

#include <string>
#include <utility>

#include "toggle/core/auth.hpp"
#include "toggle/core/http.hpp"
#include "toggle/core/worker_pool.hpp"

namespace toggle::evaluation {

class KeyGate {
 public:
  // `keys` nullptr: no key is required.
  KeyGate(KeyValidator* keys, unsigned threads) : keys_(keys), checks_(threads) {}
  bool required() const { return keys_ != nullptr; }

  // `work()` (a Reply) once `key` is known to be valid with the evaluate scope; otherwise the
  // reply `refuse(error)` makes of the Error (401 invalid_key, 403 missing_scope, 503
  // auth_unavailable). Both must be copyable: they may run later, on a checking thread.
  template <class Work, class Refuse>
  Reply admit(std::string key, Work work, Refuse refuse) {
    if (auto check = keys_->cached(key)) {
      try {
        require_scope(*check, Scope::evaluate);
      } catch (const Error& e) {
        return refuse(e);
      }
      return work();
    }
    return Deferred{
        [this, key = std::move(key), work = std::move(work), refuse = std::move(refuse)](Responder respond) {
          checks_.post([this, key, work, refuse, respond] {
            try {
              require_scope(keys_->validate(key), Scope::evaluate);
            } catch (const Error& e) {
              return respond(refuse(e));
            }
            reply_with(respond, work());
          });
        }};
  }

  // Waits for the checks under way (shutdown, after the server stopped).
  void stop() { checks_.join(); }

 private:
  KeyValidator* keys_;
  WorkerPool checks_;
};

}  // namespace toggle::evaluation
