#include "toggle/core/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

namespace toggle {

std::size_t Counter::stripe() {
  static std::atomic<std::size_t> next{0};
  thread_local std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return mine;
}

Counter& Metrics::counter(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mutex_);
  for (auto& e : entries_)
    if (e.name == name && e.labels == labels) return e.counter;
  auto& e = entries_.emplace_back();
  e.name = name, e.help = help, e.labels = labels, e.type = "counter";
  return e.counter;
}

GaugeHandle Metrics::gauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  auto& e = entries_.emplace_back();
  e.name = name, e.help = help, e.type = "gauge", e.read = std::move(read);
  return GaugeHandle(this, &e);
}

void Metrics::remove(const void* entry) {
  std::lock_guard lock(mutex_);
  entries_.remove_if([entry](const Entry& e) { return &e == entry; });
}

GaugeHandle& GaugeHandle::operator=(GaugeHandle&& other) noexcept {
  if (this != &other) {
    if (metrics_) metrics_->remove(entry_);
    metrics_ = other.metrics_, entry_ = other.entry_;
    other.metrics_ = nullptr;
  }
  return *this;
}

GaugeHandle::~GaugeHandle() {
  if (metrics_) metrics_->remove(entry_);
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  // A metric family's samples must be contiguous: order by name, keeping registration order within.
  std::vector<const Entry*> sorted;
  for (const auto& e : entries_) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::set<std::string> described;
  for (const Entry* entry : sorted) {
    const Entry& e = *entry;
    if (described.insert(e.name).second)
      out += "# HELP " + e.name + " " + e.help + "\n# TYPE " + e.name + " " + e.type + "\n";
    out += e.name;
    if (!e.labels.empty()) out += "{" + e.labels + "}";
    char value[64];
    if (e.read)
      std::snprintf(value, sizeof value, " %.17g\n", e.read());
    else
      std::snprintf(value, sizeof value, " %llu\n", static_cast<unsigned long long>(e.counter.value()));
    out += value;
  }
  return out;
}

Metrics& metrics() {
  static Metrics instance;
  return instance;
}

}  // namespace toggle
