// What evaluation-service applies from outside: change-feed replies (its own polls of flag- and
// targeting-service) and what other replicas share through Redis (stored states and change
// messages, sealed with an HMAC). The first byte picks the feed and the path; the rest is the text.
//   path 0: a poll reply, parsed as FeedFollower::run() does, then accept()ed;
//   path 1: a stored state, sealed by a replica: SharedCache::open(), the shape check, accept();
//   path 2: a change message, sealed: open(), read_change(), accept(base, reply);
//   path 3: the raw text as Redis would hold it if anyone else wrote it (must be refused).
// The catalog is the real one, with the real FeedFollowers of the three feeds (not started).
// Properties: no crash, leak or undefined behaviour; text not sealed by a replica changes nothing;
// what a replica's catalog exports, another replica's catalog takes.
#include <nlohmann/json.hpp>

#include "catalog.hpp"
#include "fuzz.hpp"
#include "shared_cache.hpp"
#include "toggle/core/feed_follower.hpp"

using nlohmann::json;
using toggle::FeedFollower;
using toggle::FeedPosition;
using toggle::evaluation::Catalog;
using toggle::evaluation::SharedCache;

namespace {

const std::string kSigningKey = "fuzz-signing-key";
const char* const kFeeds[] = {"flags", "rules", "segments"};

struct Replica {
  Catalog catalog;
  FeedFollower flags{{}, [this](const json& r) { catalog.apply_flag_changes(r); }};
  FeedFollower rules{{}, [this](const json& r) { catalog.apply_rule_changes(r); }};
  FeedFollower segments{{}, [this](const json& r) { catalog.apply_segment_changes(r); }};
  FeedFollower& follower(int feed) { return feed == 0 ? flags : feed == 1 ? rules : segments; }
};

json full_reply(const char* items, json list) {
  return {{"epoch", "exported"}, {"version", 1}, {"full", true}, {items, std::move(list)}, {"deleted", json::array()}};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return -1;
  const int feed = data[0] % 3, path = (data[0] / 3) % 4;
  std::string text(fuzz::text_of(data + 1, size - 1));
  const std::string where = std::string("togglemaster:evaluation:") + kFeeds[feed];

  Replica replica;
  try {
    if (path == 0) {
      replica.follower(feed).accept({}, json::parse(text));
    } else if (path == 1 || path == 3) {
      auto state = SharedCache::open(kSigningKey, where, path == 1 ? SharedCache::seal(kSigningKey, where, text) : text);
      if (path == 3) fuzz::require(!state || text.size() >= 65, "unsealed text is refused");
      if (state && SharedCache::has_feed_reply_shape(*state)) replica.follower(feed).accept({}, *state);
    } else {
      auto message = SharedCache::open(kSigningKey, "togglemaster:evaluation:changes",
                                       SharedCache::seal(kSigningKey, "togglemaster:evaluation:changes", text));
      if (message) {
        SharedCache::Change change = SharedCache::read_change(*message);
        for (int f = 0; f < 3; ++f)
          if (change.feed == kFeeds[f]) replica.follower(f).accept(change.base, change.reply);
      }
    }
  } catch (const std::exception&) {
    // Malformed: refused, as the service refuses it (logged and counted there).
  }
  if (path == 3) fuzz::require(replica.catalog.size() == 0, "text not sealed by a replica changes nothing");

  // What one replica holds, shared as its full state, is taken by another.
  Replica other;
  try {
    other.flags.accept({}, full_reply("flags", replica.catalog.export_flags()));
    other.rules.accept({}, full_reply("rules", replica.catalog.export_rules()));
    other.segments.accept({}, full_reply("segments", replica.catalog.export_segments()));
  } catch (const std::exception& e) {
    fuzz::require(false, "a replica's exported state is accepted by another");
  }
  fuzz::require(other.catalog.size() == replica.catalog.size(), "the exported state holds every flag");
  return 0;
}
