// Waiting for something that happens asynchronously (a change propagated, an event stored), in
// every test tier: polls `condition` every 10 ms until it holds or `limit` passes. The limits are
// generous on purpose: the machines are shared and noisy, and speed is measured by `make bench`,
// not asserted by tests.
#pragma once

#include <chrono>
#include <thread>

namespace testsupport {

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace testsupport
