// Internal: waiting between attempts, for every retry loop of this library.
#pragma once

#include <atomic>
#include <chrono>

#include "toggle/cloud/aws_error.hpp"

namespace toggle::cloud::detail {

// Full jitter: a random wait in [0, min(max, base * 2^attempt)], AWS's recommended backoff (many
// clients retrying at once spread out instead of coming back together).
std::chrono::milliseconds backoff(std::chrono::milliseconds base, std::chrono::milliseconds max, int attempt);

// Sleeps `wait`; false (at once) if the deadline would pass first, or when `cancel` becomes true.
bool pause(std::chrono::milliseconds wait, Deadline deadline, const std::atomic<bool>* cancel = nullptr);

}  // namespace toggle::cloud::detail
