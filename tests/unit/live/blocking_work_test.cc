// Work that waits on the broker runs off the event loop: WorkerThread in order, WorkerPool in
// parallel; `done` always comes back through the loop's post.

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "ontime/daemon/blocking_work.h"

namespace ontime::testing {
namespace {

using namespace std::chrono_literals;

// A loop's post: a thread-safe queue the test drains on its own thread.
class PostQueue {
 public:
  void Post(std::function<void()> f) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(f));
    wake_.notify_all();
  }
  // Runs what was posted until `n` functions ran (at most 10 s).
  bool RunUntil(size_t n) {
    std::unique_lock lock(mutex_);
    while (ran_ < n) {
      if (!wake_.wait_for(lock, 10s, [this] { return !queue_.empty(); })) return false;
      auto f = std::move(queue_.front());
      queue_.erase(queue_.begin());
      lock.unlock();
      f();
      lock.lock();
      ++ran_;
    }
    return true;
  }
  std::function<void(std::function<void()>)> Poster() {
    return [this](std::function<void()> f) { Post(std::move(f)); };
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::function<void()>> queue_;
  size_t ran_ = 0;
};

TEST(WorkerThreadTest, RunsWorkOffTheLoopInOrderAndDoneOnTheLoop) {
  PostQueue loop;
  daemon::WorkerThread worker(loop.Poster());
  const auto loop_thread = std::this_thread::get_id();
  std::vector<int> order;
  std::vector<bool> off_loop;
  std::mutex m;
  for (int k = 0; k < 5; ++k) {
    worker.Submit(
        [&, k] {
          std::lock_guard lock(m);
          order.push_back(k);
          off_loop.push_back(std::this_thread::get_id() != loop_thread);
        },
        [&, k] { EXPECT_EQ(std::this_thread::get_id(), loop_thread) << "done " << k; });
  }
  ASSERT_TRUE(loop.RunUntil(5));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(off_loop, std::vector<bool>(5, true));
}

TEST(WorkerThreadTest, StopTellsRunningWorkAndDropsTheRest) {
  PostQueue loop;
  daemon::WorkerThread worker(loop.Poster());
  std::mutex m;
  std::condition_variable started_cv;
  bool started = false;
  bool saw_stopping = false;
  bool second_ran = false;
  worker.Submit(
      [&] {
        {
          std::lock_guard lock(m);
          started = true;
        }
        started_cv.notify_all();
        while (!worker.stopping()) std::this_thread::sleep_for(1ms);
        saw_stopping = true;
      },
      [] { ADD_FAILURE() << "no done after Stop"; });
  worker.Submit([&] { second_ran = true; }, {});
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(started_cv.wait_for(lock, 10s, [&] { return started; }));
  }
  worker.Stop();
  worker.WaitIdle();
  EXPECT_TRUE(saw_stopping);
  EXPECT_FALSE(second_ran);
}

TEST(WorkerPoolTest, RunsIndependentWorkSideBySide) {
  PostQueue loop;
  daemon::WorkerPool pool(2, loop.Poster());
  // Two works that each wait for the other: only side by side do both finish.
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  bool both = true;
  for (int k = 0; k < 2; ++k) {
    pool.Submit(
        [&] {
          std::unique_lock lock(m);
          ++arrived;
          cv.notify_all();
          both = both && cv.wait_for(lock, 10s, [&] { return arrived == 2; });
        },
        [] {});
  }
  ASSERT_TRUE(loop.RunUntil(2));
  EXPECT_TRUE(both);
}

}  // namespace
}  // namespace ontime::testing
