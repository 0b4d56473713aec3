#include "ontime/daemon/blocking_work.h"

#include <sched.h>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace ontime::daemon {

WorkerThread::WorkerThread(std::function<void(std::function<void()>)> post, int nice)
    : post_(std::move(post)), nice_(nice), thread_([this] { Run(); }) {}

WorkerThread::~WorkerThread() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void WorkerThread::Submit(std::function<void()> work, std::function<void()> done) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  queue_.emplace_back(std::move(work), std::move(done));
  wake_.notify_one();
}

void WorkerThread::WaitIdle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void WorkerThread::Stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  queue_.clear();
  wake_.notify_one();
  idle_.notify_all();
}

void WorkerThread::Run() {
  // SCHED_BATCH: a worker woken (its work done, a restore's next fetch) does not preempt the
  // event loop mid-turn; it still gets its share of the cores. Best effort.
  sched_param param{};
  (void)sched_setscheduler(0, SCHED_BATCH, &param);
  if (nice_ > 0) {
    // Linux: a thread's nice value is its own (best effort: refused, it runs at the default).
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice_);
  }
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    auto [work, done] = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    work();
    if (done && !stopping_) post_(std::move(done));
    lock.lock();
    busy_ = false;
    idle_.notify_all();
  }
}

WorkerPool::WorkerPool(size_t threads, const std::function<void(std::function<void()>)>& post,
                       int nice) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    workers_.push_back(std::make_unique<WorkerThread>(post, nice));
  }
}

void WorkerPool::Submit(std::function<void()> work, std::function<void()> done) {
  workers_[next_]->Submit(std::move(work), std::move(done));
  next_ = (next_ + 1) % workers_.size();
}

void WorkerPool::WaitIdle() {
  for (auto& w : workers_) w->WaitIdle();
}

void WorkerPool::Stop() {
  for (auto& w : workers_) w->Stop();
}

}  // namespace ontime::daemon
