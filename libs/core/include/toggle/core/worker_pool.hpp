// A fixed pool of threads for blocking work (storage, calls to other services), so that the
// server's I/O threads never wait on them.
#pragma once

#include <functional>
#include <memory>

namespace toggle {

class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);
  ~WorkerPool();  // waits for queued tasks
  void post(std::function<void()> task);
  void join();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toggle
