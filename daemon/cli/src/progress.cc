#include "ontime/daemon/progress.h"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <utility>

namespace ontime::daemon {
namespace {

std::string Grouped(size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

ProgressLine::ProgressLine(std::ostream& out, size_t total_bytes, Clock clock,
                           std::chrono::milliseconds interval, size_t stride)
    : out_(out),
      total_bytes_(total_bytes),
      clock_(std::move(clock)),
      interval_(interval),
      stride_(stride == 0 ? 1 : stride),
      started_(clock_()),
      last_(started_) {}

std::string ProgressLine::Format(size_t events, double events_per_second, size_t bytes_done,
                                 size_t total_bytes) {
  char rate[32];
  if (events_per_second >= 1e6) {
    std::snprintf(rate, sizeof rate, "%.2fM", events_per_second / 1e6);
  } else if (events_per_second >= 1e3) {
    std::snprintf(rate, sizeof rate, "%.1fk", events_per_second / 1e3);
  } else {
    std::snprintf(rate, sizeof rate, "%.0f", events_per_second);
  }
  std::string line = Grouped(events) + " events  " + rate + " events/s";
  if (total_bytes > 0) {
    char percent[16];
    std::snprintf(percent, sizeof percent, "  %.1f%%",
                  100.0 * static_cast<double>(std::min(bytes_done, total_bytes)) /
                      static_cast<double>(total_bytes));
    line += percent;
  }
  return line;
}

void ProgressLine::Update(size_t events, size_t bytes_done) {
  if (events % stride_ != 0) return;
  const auto now = clock_();
  if (now - last_ < interval_) return;
  last_ = now;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  const double rate = seconds > 0 ? static_cast<double>(events) / seconds : 0;
  out_ << "\r" << Format(events, rate, bytes_done, total_bytes_) << "\x1b[K" << std::flush;
  ++printed_;
}

void ProgressLine::Finish() {
  if (printed_ > 0) out_ << "\r\x1b[K" << std::flush;
}

}  // namespace ontime::daemon
