// Process-wide Prometheus metrics: counters and gauges, rendered in the text exposition format by
// GET /metrics. Counters are registered once at start-up and then only incremented (lock-free).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

namespace toggle {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Metrics {
 public:
  // `labels` is the inside of the braces, e.g. `code="2xx"`; same name + labels = same counter.
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");
  void gauge(const std::string& name, const std::string& help, std::function<double()> read);
  std::string render() const;

 private:
  struct Entry {
    std::string name, help, labels, type;
    Counter counter;
    std::function<double()> read;
  };
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;  // deque: references stay valid as entries are added
};

Metrics& metrics();

}  // namespace toggle
