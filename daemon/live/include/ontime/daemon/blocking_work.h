#pragma once
// Work that waits on the broker (a transaction's commit, reading a changelog partition) runs off
// the event loop, so that the loop keeps serving HTTP, firing deadlines and petting the watchdog.
// BlockingWork is the seam: WorkerThread in production (one thread, tasks in order), an inline
// fake in tests. The work's `done` always runs on the event loop.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ontime/daemon/event_loop.h"

namespace ontime::daemon {

class BlockingWork {
 public:
  virtual ~BlockingWork() = default;
  // Runs `work` off the loop, after the work submitted before it; then `done` on the loop.
  virtual void Submit(std::function<void()> work, std::function<void()> done) = 0;
  // True once Stop() was called: long work checks it and gives up early.
  virtual bool stopping() const = 0;
  // Waits until every submitted work has run (their `done` are posted, not yet run).
  virtual void WaitIdle() = 0;
};

class WorkerThread final : public BlockingWork {
 public:
  // `post` hands a function to the event loop's thread (asio::post: thread-safe). The thread runs
  // as SCHED_BATCH (woken, it does not preempt the loop mid-turn); `nice` > 0 also lowers its
  // priority (setpriority), so that bulk work yields the cores to the loop.
  explicit WorkerThread(std::function<void(std::function<void()>)> post, int nice = 0);
  ~WorkerThread() override;  // Stop()s and joins
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  void Submit(std::function<void()> work, std::function<void()> done) override;
  bool stopping() const override { return stopping_; }
  void WaitIdle() override;
  // Tells running work to give up; work not started is dropped. Idempotent.
  void Stop();

 private:
  void Run();

  std::function<void(std::function<void()>)> post_;
  int nice_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::pair<std::function<void()>, std::function<void()>>> queue_;
  bool busy_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Several WorkerThreads, work handed round-robin: independent work (one restore per partition)
// in parallel. No order between works.
class WorkerPool final : public BlockingWork {
 public:
  WorkerPool(size_t threads, const std::function<void(std::function<void()>)>& post, int nice = 0);
  void Submit(std::function<void()> work, std::function<void()> done) override;
  bool stopping() const override { return workers_.front()->stopping(); }
  void WaitIdle() override;
  void Stop();

 private:
  std::vector<std::unique_ptr<WorkerThread>> workers_;
  size_t next_ = 0;
};

}  // namespace ontime::daemon
