// A map from string keys that holds at most `capacity` entries: adding one more drops the least
// recently used. For caches that a flood of new keys (random API keys, random flag names) must not
// grow without bound, nor empty of the keys in use. Not thread-safe: the owner locks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "toggle/rules/rules.hpp"  // rules::StringHash

namespace toggle {

template <class Value>
class LruMap {
 public:
  explicit LruMap(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

  // The entry for `key`, now the most recently used; nullptr if there is none.
  Value* find(std::string_view key) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    recency_.splice(recency_.begin(), recency_, it->second.recency);
    return &it->second.value;
  }

  // Sets the entry for `key`, now the most recently used.
  void put(const std::string& key, Value value) {
    if (Value* existing = find(key)) {
      *existing = std::move(value);
      return;
    }
    if (map_.size() >= capacity_) {  // bounded: the least recently used key goes
      map_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(key);
    map_.emplace(key, Entry{std::move(value), recency_.begin()});
  }

  std::size_t size() const { return map_.size(); }

 private:
  struct Entry {
    Value value;
    std::list<std::string>::iterator recency;  // its place in recency_
  };

  std::size_t capacity_;
  std::unordered_map<std::string, Entry, rules::StringHash, std::equal_to<>> map_;
  std::list<std::string> recency_;  // most recently used first
};

}  // namespace toggle
