#pragma once
// The progress line of a long `ontimed replay` on a terminal: events so far, events per second
// and how much of the input is done, rewritten in place ("\r", then clear to the end of the line)
// at most once per interval. The caller decides whether stderr is a terminal; the clock is
// injected so tests can drive it. Update() is cheap enough to call per event: it reads the clock
// once every kStride events. Single-threaded.

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>

namespace ontime::daemon {

class ProgressLine {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr size_t kStride = 256;
  static constexpr std::chrono::milliseconds kInterval{250};

  // `total_bytes` is the input's size (0: unknown, no percentage).
  ProgressLine(std::ostream& out, size_t total_bytes, Clock clock,
               std::chrono::milliseconds interval = kInterval, size_t stride = kStride);

  void Update(size_t events, size_t bytes_done);
  // Clears the line, if one was printed.
  void Finish();
  size_t lines_printed() const { return printed_; }

  // "1,234,567 events  312.4k events/s  45.2%" (no percentage when total_bytes is 0).
  static std::string Format(size_t events, double events_per_second, size_t bytes_done,
                            size_t total_bytes);

 private:
  std::ostream& out_;
  size_t total_bytes_;
  Clock clock_;
  std::chrono::milliseconds interval_;
  size_t stride_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_;
  size_t printed_ = 0;
};

}  // namespace ontime::daemon
