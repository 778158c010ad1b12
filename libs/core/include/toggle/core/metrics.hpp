// Process-wide Prometheus metrics: counters and gauges, rendered in the text exposition format by
// GET /metrics. Counters are registered once at start-up and then only incremented (lock-free).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>

namespace toggle {

// Striped: each thread adds to its own cache line, so threads counting every request do not
// contend; value() sums the stripes.
class Counter {
 public:
  void inc(std::uint64_t n = 1) { stripes_[stripe()].value.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const {
    std::uint64_t sum = 0;
    for (const auto& s : stripes_) sum += s.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  static constexpr std::size_t kStripes = 8;
  static std::size_t stripe();
  struct alignas(64) Stripe {
    std::atomic<std::uint64_t> value{0};
  };
  Stripe stripes_[kStripes];
};

class Metrics;

// Keeps a gauge registered while it lives: a gauge reads its owner's state, so it must not
// outlive it.
class GaugeHandle {
 public:
  GaugeHandle() = default;
  GaugeHandle(Metrics* metrics, const void* entry) : metrics_(metrics), entry_(entry) {}
  GaugeHandle(GaugeHandle&& other) noexcept : metrics_(other.metrics_), entry_(other.entry_) {
    other.metrics_ = nullptr;
  }
  GaugeHandle& operator=(GaugeHandle&& other) noexcept;
  ~GaugeHandle();

 private:
  Metrics* metrics_ = nullptr;
  const void* entry_ = nullptr;
};

class Metrics {
 public:
  // `labels` is the inside of the braces, e.g. `code="2xx"`; same name + labels = same counter.
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");
  [[nodiscard]] GaugeHandle gauge(const std::string& name, const std::string& help, std::function<double()> read);
  std::string render() const;

 private:
  friend class GaugeHandle;
  void remove(const void* entry);
  struct Entry {
    std::string name, help, labels, type;
    Counter counter;
    std::function<double()> read;
  };
  mutable std::mutex mutex_;
  std::list<Entry> entries_;  // list: references stay valid as entries come and go
};

Metrics& metrics();

}  // namespace toggle
