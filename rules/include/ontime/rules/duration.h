#pragma once
// The durations of the configuration: "15d", "4h", "2d4h", "90m", "30s", combinations in
// descending units; "d" is the calendar's day_length of working time. Thresholds may also be a
// percentage of the current cycle's budget ("20%").

#include <optional>
#include <string>
#include <string_view>

#include "ontime/base/time.h"

namespace ontime::rules {

std::optional<Duration> ParseDuration(std::string_view text, Duration day_length);
// "2d4h", with day_length; "0" for zero. For messages and `ontimed calendar`.
std::string FormatDuration(Duration d, Duration day_length);

struct Threshold {
  bool is_percent = false;
  double percent = 0;   // 0..100 when is_percent
  Duration absolute{};  // when !is_percent

  Duration Resolve(Duration cycle_budget) const;
};

std::optional<Threshold> ParseThreshold(std::string_view text, Duration day_length);

}  // namespace ontime::rules
