// Unit tests for libs/core metrics.hpp: counters and gauges rendered in the Prometheus text format.
#include "toggle/core/metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "toggle/core/server.hpp"

namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::size_t count_prefix(const std::string& text, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& line : lines_of(text))
    if (line.rfind(prefix, 0) == 0) ++n;
  return n;
}

TEST(Metrics, EmptyRegistryRendersNothing) {
  toggle::Metrics m;
  EXPECT_EQ(m.render(), "");
}

TEST(Metrics, RendersTheExpositionFormat) {
  toggle::Metrics m;
  m.counter("zeta_total", "Zeta help", "code=\"2xx\"").inc(3);
  m.counter("alpha_total", "Alpha help").inc();
  auto mid_gauge = m.gauge("mid_gauge", "Mid help", [] { return 1.5; });
  m.counter("zeta_total", "Zeta help", "code=\"5xx\"").inc(2);
  EXPECT_EQ(m.render(),
            "# HELP alpha_total Alpha help\n"
            "# TYPE alpha_total counter\n"
            "alpha_total 1\n"
            "# HELP mid_gauge Mid help\n"
            "# TYPE mid_gauge gauge\n"
            "mid_gauge 1.5\n"
            "# HELP zeta_total Zeta help\n"
            "# TYPE zeta_total counter\n"
            "zeta_total{code=\"2xx\"} 3\n"
            "zeta_total{code=\"5xx\"} 2\n");
}

TEST(Metrics, FamiliesAreContiguousWithHelpAndTypeOnceWhenRegisteredInterleaved) {
  toggle::Metrics m;
  const std::vector<std::string> families = {"b_total", "a_total", "c_total"};
  for (int round = 0; round < 3; ++round)
    for (const auto& f : families) m.counter(f, f + " help", "n=\"" + std::to_string(round) + "\"").inc(round + 1);
  std::string text = m.render();
  auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u * (2 + 3));
  for (const auto& f : families) {
    EXPECT_EQ(count_prefix(text, "# HELP " + f + " "), 1u) << text;
    EXPECT_EQ(count_prefix(text, "# TYPE " + f + " counter"), 1u) << text;
    // HELP, TYPE, then the family's three samples, in registration order, with nothing between.
    std::size_t at = 0;
    while (at < lines.size() && lines[at].rfind("# HELP " + f + " ", 0) != 0) ++at;
    ASSERT_LT(at + 4, lines.size()) << text;
    EXPECT_EQ(lines[at + 1], "# TYPE " + f + " counter");
    for (int round = 0; round < 3; ++round)
      EXPECT_EQ(lines[at + 2 + round], f + "{n=\"" + std::to_string(round) + "\"} " + std::to_string(round + 1));
  }
}

TEST(Metrics, SameNameAndLabelsIsTheSameCounter) {
  toggle::Metrics m;
  auto& a = m.counter("requests_total", "Requests", "code=\"2xx\"");
  auto& b = m.counter("requests_total", "Requests", "code=\"2xx\"");
  auto& other = m.counter("requests_total", "Requests", "code=\"4xx\"");
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.inc();
  b.inc(4);
  EXPECT_EQ(a.value(), 5u);
  EXPECT_EQ(other.value(), 0u);
  EXPECT_EQ(count_prefix(m.render(), "requests_total{code=\"2xx\"} 5"), 1u);
}

TEST(Metrics, CounterReferencesStayValidAsMoreAreRegistered) {
  toggle::Metrics m;
  auto& first = m.counter("first_total", "First");
  for (int i = 0; i < 1000; ++i) m.counter("many_total", "Many", "i=\"" + std::to_string(i) + "\"");
  first.inc(7);
  EXPECT_EQ(count_prefix(m.render(), "first_total 7"), 1u);
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  toggle::Metrics m;
  auto& c = m.counter("hits_total", "Hits");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) c.inc();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(count_prefix(m.render(), "hits_total 40000"), 1u);
}

TEST(Metrics, GaugeIsReadAtRenderTime) {
  toggle::Metrics m;
  double level = 1;
  auto level_gauge = m.gauge("level", "Current level", [&level] { return level; });
  EXPECT_EQ(count_prefix(m.render(), "level 1"), 1u);
  level = 0.25;
  EXPECT_EQ(count_prefix(m.render(), "level 0.25"), 1u);
}

TEST(Metrics, ProcessWideRegistryIsASingleton) {
  // (Not rendered here: see ServersDoNotLeaveGaugesBehind for why rendering the process-wide
  // registry after a Server was destroyed is unsafe.)
  EXPECT_EQ(&toggle::metrics(), &toggle::metrics());
  auto& c = toggle::metrics().counter("toggle_unit_test_singleton_total", "Unit test");
  EXPECT_EQ(&c, &toggle::metrics().counter("toggle_unit_test_singleton_total", "Unit test"));
  auto before = c.value();
  c.inc();
  EXPECT_EQ(c.value(), before + 1);
}

TEST(Metrics, ServersDoNotLeaveGaugesBehind) {
  // Regression (fixed): Server::Impl's constructor (server.cpp:142) registers the http_open_connections gauge in
  // the process-wide registry with a lambda capturing `this`, and nothing removes it. Every
  // Server adds another sample line for the same series (invalid exposition), and once a Server
  // is destroyed, metrics().render() (GET /metrics) calls into freed memory.
  for (int i = 0; i < 2; ++i) {
    toggle::Router router;
    toggle::ServerOptions opt;
    opt.host = "127.0.0.1";
    opt.io_threads = 1;
    opt.worker_threads = 1;
    toggle::Server server(opt, router);
    server.start();
    server.stop(1s);
  }
  EXPECT_LE(count_prefix(toggle::metrics().render(), "http_open_connections "), 1u);
}

}  // namespace
