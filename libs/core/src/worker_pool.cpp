#include "toggle/core/worker_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace toggle {

struct WorkerPool::Impl {
  explicit Impl(unsigned n) : pool(n) {}
  boost::asio::thread_pool pool;
};

WorkerPool::WorkerPool(unsigned threads) : impl_(std::make_unique<Impl>(threads ? threads : 1)) {}
WorkerPool::~WorkerPool() { impl_->pool.join(); }
void WorkerPool::post(std::function<void()> task) { boost::asio::post(impl_->pool, std::move(task)); }
void WorkerPool::join() { impl_->pool.join(); }

}  // namespace toggle
