// Helper for scripts/bench.sh: the measurements wrk cannot make.
//
//   platform_bench setup FLAG_URL TARGETING_URL            flags "bench-flag" (PERCENTAGE 50) and "bench-toggle"
//   platform_bench propagation FLAG_URL[,FLAG_URL…] EVAL_URL[,EVAL_URL…] TOGGLES
//                       time from a PUT's reply until every replica answers it; PUTs go to the
//                       flag-service replicas in turn
//   platform_bench load-flags FLAG_URL TARGETING_URL EVAL_URL N   create N flags (every other one with a rule)
//   platform_bench count ANALYTICS_URL FLAG                events stored for FLAG
//
// Prints `key=value` lines. Uses the development service key unless SERVICE_API_KEY is set.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "toggle/core/client.hpp"
#include "toggle/core/json.hpp"

using namespace std::chrono;
using toggle::ClientRequest;
using toggle::HttpClient;
using toggle::json;

namespace {

std::string key() {
  const char* k = std::getenv("SERVICE_API_KEY");
  return k && *k ? k : "tm_key_service_internal_dev";
}

toggle::ClientResponse call(const std::string& method, const std::string& url, const std::string& body = "") {
  return HttpClient().send(
      ClientRequest{method, url, {{"Authorization", "Bearer " + key()}}, body, milliseconds(10000)});
}

void must(const toggle::ClientResponse& r, const std::string& what) {
  if (r.status / 100 != 2 && r.status != 409) {
    std::cerr << what << " failed: " << r.status << " " << r.body << r.error << "\n";
    std::exit(1);
  }
}

int setup(const std::string& flags, const std::string& targeting) {
  must(call("POST", flags + "/flags", R"({"name":"bench-flag","is_enabled":true})"), "create bench-flag");
  must(call("POST", targeting + "/rules", R"({"flag_name":"bench-flag","rules":{"type":"PERCENTAGE","value":50}})"),
       "create rule");
  must(call("POST", flags + "/flags", R"({"name":"bench-toggle","is_enabled":true})"), "create bench-toggle");
  return 0;
}

bool evaluates_to(const std::string& eval, bool expected) {
  auto r = HttpClient().send({"GET", eval + "/evaluate?user_id=prop&flag_name=bench-toggle"});
  return r.status == 200 && json::parse(r.body, nullptr, false).value("result", !expected) == expected;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  for (std::size_t start = 0, comma; start <= list.size(); start = comma + 1) {
    comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    out.push_back(list.substr(start, comma - start));
  }
  return out;
}

int propagation(const std::string& flag_services, const std::string& evals, int toggles) {
  std::vector<std::string> writers = split(flag_services);
  std::vector<std::string> replicas = split(evals);
  std::vector<double> ms;
  bool enabled = true;
  for (const auto& eval : replicas)
    while (!evaluates_to(eval, enabled)) std::this_thread::sleep_for(milliseconds(10));
  for (int i = 0; i < toggles; ++i) {
    enabled = !enabled;
    must(call("PUT", writers[i % writers.size()] + "/flags/bench-toggle",
              enabled ? R"({"is_enabled":true})" : R"({"is_enabled":false})"),
         "toggle");
    auto replied = steady_clock::now();
    // Every replica must answer the new value; poll them in turn until all do.
    std::vector<bool> seen(replicas.size(), false);
    for (std::size_t done = 0; done < replicas.size();) {
      if (steady_clock::now() - replied > seconds(10)) {
        std::cerr << "toggle " << i << " not seen by every replica after 10 s\n";
        return 1;
      }
      for (std::size_t r = 0; r < replicas.size(); ++r)
        if (!seen[r] && evaluates_to(replicas[r], enabled)) seen[r] = true, ++done;
    }
    ms.push_back(duration<double, std::milli>(steady_clock::now() - replied).count());
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * ms.size()))]; };
  std::cout << "propagation_p50_ms=" << pct(0.50) << "\npropagation_p99_ms=" << pct(0.99)
            << "\npropagation_max_ms=" << ms.back() << "\n";
  return 0;
}

int load_flags(const std::string& flags, const std::string& targeting, const std::string& eval, int n) {
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t)
    workers.emplace_back([&] {
      for (int i; (i = next++) < n;) {
        std::string name = "load-" + std::to_string(i);
        must(call("POST", flags + "/flags", R"({"name":")" + name + R"(","is_enabled":true})"), "create flag");
        if (i % 2 == 0)
          must(call("POST", targeting + "/rules",
                    R"({"flag_name":")" + name + R"(","rules":{"type":"PERCENTAGE","value":)" +
                        std::to_string(i % 100) + "}}"),
               "create rule");
      }
    });
  for (auto& w : workers) w.join();
  // Wait until evaluation has them all in its snapshot.
  auto until = steady_clock::now() + seconds(60);
  while (steady_clock::now() < until) {
    auto m = HttpClient().send({"GET", eval + "/metrics"}).body;
    auto pos = m.find("\nevaluation_flags_loaded ");
    if (pos != std::string::npos && std::stod(m.substr(pos + 25)) >= n) return 0;
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::cerr << "evaluation did not load " << n << " flags\n";
  return 1;
}

int count(const std::string& analytics, const std::string& flag) {
  auto r = call("GET", analytics + "/summary?flag_name=" + flag);
  must(r, "summary");
  std::cout << "stored=" << json::parse(r.body)["total"].get<long long>() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 3 && a[0] == "setup") return setup(a[1], a[2]);
  if (a.size() == 4 && a[0] == "propagation") return propagation(a[1], a[2], std::stoi(a[3]));
  if (a.size() == 5 && a[0] == "load-flags") return load_flags(a[1], a[2], a[3], std::stoi(a[4]));
  if (a.size() == 3 && a[0] == "count") return count(a[1], a[2]);
  std::cerr << "usage: see the comment at the top of bench/platform_bench.cpp\n";
  return 2;
}
