#pragma once
// The live path's event-loop seam (Envoy's Dispatcher and TimeSource): the clock it reads, the
// timers it arms and the work it posts. AsioEventLoop runs on a Boost.Asio io_context with the
// system clock; tests use SimulatedEventLoop (tests/fakes/live_fakes.h), whose time moves only
// when the test advances it. Single-threaded: everything runs on the loop's thread.

#include <chrono>
#include <functional>
#include <memory>

#include "ontime/base/clock.h"

namespace boost::asio {
class io_context;
}

namespace ontime::daemon {

class Timer {
 public:
  virtual ~Timer() = default;
  // Calls `fire` once, `after` from now on the monotonic clock; re-arming replaces the last one.
  virtual void Arm(std::chrono::milliseconds after, std::function<void()> fire) = 0;
  virtual void Cancel() = 0;
};

class EventLoop {
 public:
  virtual ~EventLoop() = default;
  virtual const Clock& clock() const = 0;
  virtual std::unique_ptr<Timer> CreateTimer() = 0;
  // Runs `work` soon, after the handler that posts it returns.
  virtual void Post(std::function<void()> work) = 0;
};

// The production loop: timers are asio steady_timers on `io`, the clock is the system's.
class AsioEventLoop final : public EventLoop {
 public:
  explicit AsioEventLoop(boost::asio::io_context& io) : io_(io) {}
  const Clock& clock() const override { return clock_; }
  std::unique_ptr<Timer> CreateTimer() override;
  void Post(std::function<void()> work) override;

 private:
  boost::asio::io_context& io_;
  SystemClock clock_;
};

}  // namespace ontime::daemon
