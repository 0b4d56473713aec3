#pragma once
// The daemon's only source of "now" (Envoy's TimeSource). The engine never reads a clock: the
// daemon reads this one and passes the instant in. Tests use ManualClock and advance it.

#include <chrono>

#include "ontime/base/time.h"

namespace ontime {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;  // wall clock, UTC
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

class SystemClock final : public Clock {
 public:
  Instant Now() const override;
  std::chrono::steady_clock::time_point Monotonic() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Instant start) : now_(start) {}
  Instant Now() const override { return now_; }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point(now_.time_since_epoch());
  }
  void Set(Instant t) { now_ = t; }
  void Advance(Duration d) { now_ += d; }

 private:
  Instant now_;
};

}  // namespace ontime
